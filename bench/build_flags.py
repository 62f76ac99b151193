"""build_flags.py - the instruction-set flags a bench binary was built with, for the compare scripts'
headers: R1_CPU_FLAGS_RESOLVED from the CMakeCache.txt above the binary (cmake/r1CpuFlags.cmake), or
-march=native for a *_native twin."""
import os


def build_flags(binary):
    if os.path.basename(binary).endswith("_native"):
        return "-march=native"
    folder = os.path.dirname(os.path.abspath(binary))
    while True:
        cache = os.path.join(folder, "CMakeCache.txt")
        if os.path.exists(cache):
            with open(cache, encoding="utf-8") as lines:
                for line in lines:
                    if line.startswith("R1_CPU_FLAGS_RESOLVED:"):
                        return line.split("=", 1)[1].strip() or "(compiler default)"
            return "(unknown: no R1_CPU_FLAGS_RESOLVED in CMakeCache.txt)"
        parent = os.path.dirname(folder)
        if parent == folder:
            return "(unknown: no CMakeCache.txt above the binary)"
        folder = parent


def build_label(binary):
    """A short name for a build in the tables: "r1 native", "r1 avx2" or "r1"."""
    flags = build_flags(binary)
    if "-march=native" in flags:
        return "r1 native"
    if "-mavx2" in flags:
        return "r1 avx2"
    return "r1"
