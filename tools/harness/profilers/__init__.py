"""What ran and for how long: the torch profiler's digest, ncu on NVIDIA, rocprofv3 on AMD."""
