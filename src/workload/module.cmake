# Workloads (DESIGN §7): the classifier (datasets, training, model files,
# inference). Pure computation over Atoll core types: no I/O but model files.
atl_module(workload DEPS atoll_core m)
