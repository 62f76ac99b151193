#pragma once
// The peaks r1's CUDA benchmarks report percentages of, computed from the device they run on:
//   dense bf16 tensor-core FLOP/s = FLOP/clk/SM (per architecture) x SM count x SM clock
//   DRAM bytes/s = 2 (double data rate) x memory clock x bus width / 8
// e.g. H100 SXM: 4096 x 132 x 1.83 GHz = 989.4 TFLOP/s (the datasheet's, at NVIDIA's bf16 boost clock;
// the reported maximum SM clock, 1.98 GHz, gives 1070), and 2 x 2.619 GHz x 5120 bit / 8 = 3.35 TB/s.
#include <cuda_runtime.h>

#include <string>

#include "r1/cuda/check.hpp"
#include "r1/cuda/device.hpp"

namespace r1::bench {

// Dense (no sparsity) bf16 tensor-core FLOP per clock per SM. A100 (sm_80): 1024 FMA/clk/SM (NVIDIA A100
// whitepaper: 256 FP16 FMA per clock per tensor core, 4 per SM) = 2048 FLOP. H100/H200 (sm_90): twice
// A100's per-SM rate (NVIDIA H100 whitepaper: "2x the MMA rates of the A100 SM on equivalent data
// types") = 4096 FLOP. 0 for other architectures: no peak, no percentage.
inline double dense_bf16_flops_per_clock_per_sm(int major, int minor) {
  if (major == 8 && minor == 0) return 2048;
  if (major == 9 && minor == 0) return 4096;
  return 0;
}

struct DevicePeaks {
  std::string name;
  int major = 0, minor = 0, sms = 0;
  double reported_sm_clock_mhz = 0, sm_clock_mhz = 0;
  double bf16_flops = 0;       // FLOP/s; 0 when the architecture's rate is unknown
  double dram_bytes_per_s = 0;
};

inline int device_attribute(cudaDeviceAttr attribute, int device = 0) {
  int value = 0;
  R1_CUDA_CHECK(cudaDeviceGetAttribute(&value, attribute, device), "device_attribute");
  return value;
}

// `sm_clock_mhz` > 0 replaces the device's reported maximum SM clock (cudaDevAttrClockRate).
inline DevicePeaks device_peaks(double sm_clock_mhz = 0, int device = 0) {
  DevicePeaks peaks;
  peaks.name = gpu::device_name(device);
  peaks.major = device_attribute(cudaDevAttrComputeCapabilityMajor, device);
  peaks.minor = device_attribute(cudaDevAttrComputeCapabilityMinor, device);
  peaks.sms = device_attribute(cudaDevAttrMultiProcessorCount, device);
  peaks.reported_sm_clock_mhz = device_attribute(cudaDevAttrClockRate, device) / 1e3;  // kHz
  peaks.sm_clock_mhz = sm_clock_mhz > 0 ? sm_clock_mhz : peaks.reported_sm_clock_mhz;
  peaks.bf16_flops = dense_bf16_flops_per_clock_per_sm(peaks.major, peaks.minor) * peaks.sms * peaks.sm_clock_mhz * 1e6;
  const double memory_clock_hz = device_attribute(cudaDevAttrMemoryClockRate, device) * 1e3;  // kHz
  const double bus_bits = device_attribute(cudaDevAttrGlobalMemoryBusWidth, device);
  peaks.dram_bytes_per_s = 2 * memory_clock_hz * bus_bits / 8;
  return peaks;
}

}  // namespace r1::bench
