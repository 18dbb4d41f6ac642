// The CUDA driver, loaded with dlopen("libcuda.so.1") at run time. Loopscope
// never links libcuda: where no driver (or no GPU) exists, available() is
// false and status() says why in plain words.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace loopscope::jit {

using CudaDevicePtr = unsigned long long;

class CudaDriver {
 public:
  // The process-wide driver; the first call tries to load it and to make
  // device 0's primary context current.
  static CudaDriver& instance();

  bool available() const { return ok_; }
  const std::string& status() const { return status_; }  // "no CUDA driver: ..." or the device
  std::string device_name() const { return device_name_; }
  int compute_capability() const { return cc_; }          // e.g. 90
  int driver_version() const { return driver_version_; }  // e.g. 13000

  // Every call below returns "" on success or a readable error.
  std::string make_current();
  std::string load_module(const void* image, void** module);  // CUBIN or PTX (NUL-terminated)
  std::string unload_module(void* module);
  std::string get_function(void* module, const std::string& name, void** fn);
  std::string alloc(size_t bytes, CudaDevicePtr* ptr);
  std::string free(CudaDevicePtr ptr);
  std::string copy_to_device(CudaDevicePtr dst, const void* src, size_t bytes);
  std::string copy_to_host(void* dst, CudaDevicePtr src, size_t bytes);
  std::string launch(void* fn, const unsigned grid[3], const unsigned block[3], void** args);
  std::string synchronize();

  CudaDriver(const CudaDriver&) = delete;
  CudaDriver& operator=(const CudaDriver&) = delete;

 private:
  CudaDriver();
  std::string check(int rc, const char* what);

  bool ok_ = false;
  std::string status_;
  std::string device_name_;
  int cc_ = 0;
  int driver_version_ = 0;
  void* lib_ = nullptr;
  void* ctx_ = nullptr;
  int device_ = 0;

  // Entry points (versioned ABI names; see the .cpp).
  int (*cuInit_)(unsigned) = nullptr;
  int (*cuDriverGetVersion_)(int*) = nullptr;
  int (*cuDeviceGetCount_)(int*) = nullptr;
  int (*cuDeviceGet_)(int*, int) = nullptr;
  int (*cuDeviceGetName_)(char*, int, int) = nullptr;
  int (*cuDeviceGetAttribute_)(int*, int, int) = nullptr;
  int (*cuDevicePrimaryCtxRetain_)(void**, int) = nullptr;
  int (*cuCtxSetCurrent_)(void*) = nullptr;
  int (*cuModuleLoadData_)(void**, const void*) = nullptr;
  int (*cuModuleUnload_)(void*) = nullptr;
  int (*cuModuleGetFunction_)(void**, void*, const char*) = nullptr;
  int (*cuMemAlloc_)(CudaDevicePtr*, size_t) = nullptr;
  int (*cuMemFree_)(CudaDevicePtr) = nullptr;
  int (*cuMemcpyHtoD_)(CudaDevicePtr, const void*, size_t) = nullptr;
  int (*cuMemcpyDtoH_)(void*, CudaDevicePtr, size_t) = nullptr;
  int (*cuLaunchKernel_)(void*, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void*, void**,
                         void**) = nullptr;
  int (*cuCtxSynchronize_)() = nullptr;
  int (*cuGetErrorString_)(int, const char**) = nullptr;
};

}  // namespace loopscope::jit
