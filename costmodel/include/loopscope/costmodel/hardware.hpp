// Hardware descriptions the cost model prices against: GPU profiles read from
// share/hardware/*.json, and the host CPU, detected from /proc and /sys and
// calibrated once by short microbenchmarks (cached as JSON in the user's
// cache directory).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace loopscope::costmodel {

// One GPU model. Every field is documented (with its source) in
// share/hardware/README.md.
struct GpuProfile {
  std::string name;            // file stem, e.g. "h100_sxm"
  std::string display_name;    // "NVIDIA H100 SXM5 80GB"
  std::string architecture;    // "Hopper"
  int compute_capability = 0;  // 90 for sm_90
  int sms = 0;
  double boost_clock_ghz = 0;
  double fp32_tflops = 0;  // peak, FMA counted as 2 flops
  double fp64_tflops = 0;
  double sfu_per_sm_per_clock = 16;  // transcendental (sqrt/exp/log) rate
  int warp_size = 32;
  int schedulers_per_sm = 4;
  int max_threads_per_sm = 2048;
  int max_blocks_per_sm = 32;
  int max_threads_per_block = 1024;
  int registers_per_sm = 65536;
  int max_registers_per_thread = 255;
  int register_alloc_unit = 256;    // registers are allocated per warp in these units
  int shared_memory_per_sm = 0;     // bytes
  int shared_memory_per_block = 0;  // bytes, default opt-in limit
  double memory_bandwidth_gbs = 0;  // DRAM, GB/s (1e9 bytes/s)
  double memory_gb = 0;
  double l2_cache_mb = 0;
  std::string host_link;               // "PCIe 5.0 x16"
  double host_link_bandwidth_gbs = 0;  // achievable pinned/pageable copy rate, GB/s
  double host_link_latency_us = 0;     // per cudaMemcpy call
  double launch_overhead_us = 0;       // per kernel launch, host side + device start
  double memory_latency_ns = 500;      // DRAM load latency seen by one thread
  double tdp_w = 0;
  std::vector<std::string> sources;  // where the figures come from
  bool measured = false;             // true when link/launch figures were measured here
};

// The host CPU. Detected fields come from /proc/cpuinfo and /sys; calibrated
// fields from microbenchmarks (C++) and, for the interpreter costs, from
// timings made by the Python layer (loopscope._cost_calibrate).
struct HostProfile {
  std::string cpu_model;
  int cores = 1;           // logical CPUs available to this process
  double clock_ghz = 2.0;  // nominal, from cpuinfo (or measured)
  int simd_bits = 128;     // widest vector ISA: 128 (SSE2), 256 (AVX2), 512 (AVX-512)
  bool has_fma = false;
  int64_t l1d_bytes = 32 << 10;  // per core
  int64_t l2_bytes = 1 << 20;    // per core
  int64_t l3_bytes = 8 << 20;    // shared
  int cache_line = 64;

  // Calibrated (native code).
  double dram_bandwidth_gbs = 10;       // one thread streaming a large buffer
  double dram_bandwidth_all_gbs = 15;   // all threads
  double cache_bandwidth_gbs = 40;      // one thread, buffer resident in L2
  double l3_bandwidth_gbs = 20;         // one thread, buffers resident in L3 (beyond L2)
  double l3_bandwidth_all_gbs = 30;     // all threads, each through its own port
  bool l3_calibrated = false;           // the two figures above measured (calibrate_l3)
  double add_ns = 0.3;                  // independent scalar fp add/mul, per op (throughput)
  double add_latency_ns = 1.2;          // dependent fp add (a reduction chain), per op
  double div_ns = 1.5;                  // fp divide / sqrt, per op (throughput)
  double div_latency_ns = 4;            // dependent fp divide
  double store_forward_ns = 1.5;        // a value stored and loaded back by the next iteration
  double loop_entry_ns = 3;             // starting and leaving a loop (setup, exit branch)
  double exp_ns = 5;                    // libm exp/log/pow/sin..., per call
  double fmod_ns = 6;                   // libm fmod, per call, for a quotient below 2
  double fmod_bit_ns = 4;               // ... and for each further bit of the quotient (glibc's
                                        // loop over the exponent difference, a branch on the data)
  bool fmod_calibrated = false;         // the two figures measured (calibrate_fmod)
  double first_touch_gbs = 4;           // memory the process writes for the first time: a page
                                        // fault and the kernel's zeroing of each page, per byte
  bool first_touch_calibrated = false;  // measured (calibrate_first_touch)
  double fork_join_us = 5;              // waking all worker threads and waiting for them
  double fork_join_cold_us = 30;        // the same for the first region of a call, when the
                                        // workers have gone to sleep
  double fork_join_busy_us = 3000;      // a region's wait when other work holds the cores (about a
                                        // scheduler time slice: 3.4 to 4 ms per region measured on a
                                        // 2-core machine at a load of 2.5, PolyBench adi and jacobi-2d)
  double loop_iter_ns = 0.3;            // scalar loop overhead per iteration
  double native_call_us = 15;           // binding values, range checks and the call of a
                                        // compiled variant (measured by the Python layer)
  double native_input_us = 0.5;         // ... and for each value the nest reads
  double native_ref_us = 0.2;           // ... and for each subscript dimension (range proofs)
  double native_loop_us = 0.5;          // ... and for each loop of the nest
  double py_dispatch_us = 6;            // the engine's hook around a nest that runs as Python
                                        // (binding its values, recording the run): every variant
                                        // pays it, native_call_us includes it (measured by the
                                        // Python layer: loopscope.run on "python" less a plain call)
  // Python's integer // and % in native code (a 64-bit divide and the sign
  // fix-ups of floor semantics): independent ones (throughput) and one
  // waiting for the previous (latency); by a constant divisor, a multiply
  // and shifts instead of the divide. Defaults: this project's 2-core host.
  double idiv_ns = 2.6;
  double idiv_latency_ns = 4.3;
  double idiv_const_ns = 1.3;
  double idiv_const_latency_ns = 3.7;
  double branch_miss_ns = 6.8;     // a mispredicted branch (the pipeline refilled)
  bool branch_calibrated = false;  // the five figures above measured (calibrate_branches)
  // What a nest's first run in the kernel pays besides compiling and its loop
  // (measured by the Python layer on a reference nest; defaults measured on a
  // 2-core Xeon): binding, run-time analysis and specialisation, the report's
  // analysis and pricing before the run, drawing the report after it.
  double first_setup_us = 10;
  double report_us = 400;
  double report_draw_us = 9000;
  bool report_calibrated = false;

  // Interpreter (measured in Python by loopscope._cost_calibrate; defaults are
  // typical CPython 3.11 figures).
  double py_iter_ns = 30;       // one iteration of `for i in range(n)`
  double py_binop_ns = 25;      // one float arithmetic op (NumPy scalars from array reads)
  double py_intop_ns = 12;      // one integer op on Python ints (index arithmetic)
  double py_index_dim_ns = 25;  // extra cost of each subscript dimension beyond the first
  double py_load_ns = 60;       // A[i] or A[i, j] read of a NumPy element
  double py_store_ns = 70;      // A[i] = x write of a NumPy element
  double py_call_ns = 60;       // math.sqrt(x)-like call
  double py_assign_ns = 5;      // local name store
  double py_compare_ns = 25;    // comparison / branch
  double py_nest_ns = 2000;     // fixed cost of entering a nest
  // NumPy scalars against Python numbers (OpCounts::py_float, py_mixed, np_call):
  double py_float_binop_ns = 6;  // float op on Python floats (a NumPy scalar costs py_binop_ns)
  double py_mixed_ns = 650;      // extra cost of an op mixing a float32/int32/uint8... scalar with another type
  double py_np_call_ns = 350;    // a NumPy function on one number (np.sqrt(x)), in place of py_call_ns
  bool py_calibrated = false;
  bool py_numpy_calibrated = false;  // the three figures above measured
  bool engine_calibrated = false;    // native_call_us and fork_join_us were measured
                                     // through the CPU variant itself
  bool forks_calibrated = false;     // ... fork_join_us on a region that forks (earlier profiles
                                     // measured one short enough to run on the calling thread)
  bool dispatch_calibrated = false;  // ... and py_dispatch_us
  // Random numbers drawn before a native run (loopscope/_draws.py), per
  // number, by generator: Python's random.random() and uniform(); random.gauss
  // and normalvariate (drawn a pair at a time in Python); NumPy's legacy
  // np.random; a NumPy Generator. And what each generator's draws cost once
  // per run (reading its state, kept to put back if Python runs the loop
  // after all; for Python's random, setting it through NumPy's). Measured by
  // the Python layer (draws_calibrated); defaults: this project's host.
  double draw_py_ns = 3.5;
  double draw_py_gauss_ns = 136;
  double draw_np_ns = 3.5;
  double draw_gen_ns = 1.7;
  double draw_setup_us = 160;    // Python's random
  double draw_np_setup_us = 20;  // np.random
  double draw_gen_setup_us = 3;  // a Generator
  bool draws_calibrated = false;
  // A list or tuple a nest reads is copied into a NumPy snapshot before each
  // native run (loopscope/_lists.py): per item. Measured by the Python layer
  // (lists_calibrated); default: this project's host.
  double list_item_ns = 12;
  bool lists_calibrated = false;

  bool calibrated = false;   // native microbenchmarks ran
  double calibration_s = 0;  // how long calibration took
  std::string source;        // "calibrated", "cache:<path>", "defaults"
};

// ---- GPU profiles -------------------------------------------------------
std::string default_share_dir();  // loopscope::share_dir() (share_dir.hpp)
std::vector<std::string> list_gpu_profiles(const std::string& share_dir = "");
// Loads share/hardware/<name>.json (or an absolute/relative path ending in .json).
// Returns nullopt and sets *error when the profile is missing or malformed.
std::optional<GpuProfile> load_gpu_profile(const std::string& name_or_path, std::string* error = nullptr,
                                           const std::string& share_dir = "");
GpuProfile gpu_profile_from_json(const nlohmann::json& j);
nlohmann::json to_json(const GpuProfile& g);

// ---- Host ---------------------------------------------------------------
HostProfile detect_host();                      // /proc + /sys only, no timing
void calibrate_native(HostProfile& host);       // microbenchmarks, well under a second
void calibrate_branches(HostProfile& host);     // integer divides and branch misses (part of calibrate_native)
void calibrate_fmod(HostProfile& host);         // the C library's fmod (part of calibrate_native)
void calibrate_first_touch(HostProfile& host);  // first_touch_gbs (part of calibrate_native)
// The share of [data, data + bytes) in the process's memory (mincore); 1
// where that cannot be known.
double resident_fraction(const void* data, size_t bytes);
void calibrate_l3(HostProfile& host);  // last-level cache bandwidth, one and all threads (part of calibrate_native)
nlohmann::json to_json(const HostProfile& h);
HostProfile host_profile_from_json(const nlohmann::json& j);
std::string cache_dir();        // $XDG_CACHE_HOME/loopscope or ~/.cache/loopscope
std::string host_cache_path();  // cache_dir()/host.json
// The host profile: from the cache when it matches this machine, else
// detected + calibrated and written to the cache. `recalibrate` ignores the cache.
HostProfile host_profile(bool recalibrate = false);
// Writes the profile to the cache (used after the Python layer adds the
// interpreter figures). Returns false when the cache cannot be written.
bool save_host_profile(const HostProfile& h);

}  // namespace loopscope::costmodel
