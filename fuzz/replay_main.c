/* Corpus replayer: feeds every file under the given files/directories to
 * LLVMFuzzerTestOneInput once, so CTest exercises each fuzz target's corpus in
 * every build (the sanitizer build turns any memory error into a failure). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_FILE_MAX (64u * 1024u * 1024u)

static int replay_file(const char *path, size_t *n_done)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long sz;
	int rc = 1;

	if (f == NULL)
		goto out;
	if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 || (unsigned long)sz > REPLAY_FILE_MAX)
		goto out;
	rewind(f);
	buf = malloc((size_t)sz + 1);
	if (buf == NULL || fread(buf, 1, (size_t)sz, f) != (size_t)sz)
		goto out;
	(void)LLVMFuzzerTestOneInput(buf, (size_t)sz);
	(*n_done)++;
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "replay: cannot read %s\n", path);
	free(buf);
	if (f != NULL)
		fclose(f);
	return rc;
}

static int replay_path(const char *path, size_t *n_done, int depth)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: no such path %s\n", path);
		return 1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path, n_done);
	if (depth > 4)
		return 0;
	d = opendir(path);
	if (d == NULL)
		return 1;
	while ((e = readdir(d)) != NULL) {
		char child[4096];
		if (e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(child, sizeof(child), "%s/%s", path, e->d_name) >= sizeof(child))
			continue;
		rc |= replay_path(child, n_done, depth + 1);
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	size_t n_done = 0;
	int rc = 0;

	for (int i = 1; i < argc; i++)
		rc |= replay_path(argv[i], &n_done, 0);
	printf("replayed %zu inputs\n", n_done);
	if (n_done == 0) {
		fprintf(stderr, "replay: empty corpus\n");
		return 1;
	}
	return rc;
}
