// Runtime loading of the CUDA driver API.
//
// cuda.h maps several API names to versioned symbols (cuMemAlloc ->
// cuMemAlloc_v2, ...); dlsym needs those ABI names. Contexts: the device's
// primary context (cuDevicePrimaryCtxRetain + cuCtxSetCurrent) works on
// every driver version, unlike cuCtxCreate whose ABI changed in CUDA 13.
#include "loopscope/jit/cuda_driver.hpp"

#include <dlfcn.h>

#include <cstdlib>

namespace loopscope::jit {

namespace {
constexpr int kAttrCcMajor = 75;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
constexpr int kAttrCcMinor = 76;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR
}  // namespace

CudaDriver& CudaDriver::instance() {
  static CudaDriver d;
  return d;
}

CudaDriver::CudaDriver() {
  const char* forced_off = std::getenv("LOOPSCOPE_NO_CUDA_DRIVER");
  if (forced_off && *forced_off && std::string(forced_off) != "0") {
    status_ = "no CUDA driver: disabled by LOOPSCOPE_NO_CUDA_DRIVER";
    return;
  }
  lib_ = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib_) {
    const char* why = dlerror();
    status_ = std::string("no CUDA driver: libcuda.so.1 could not be loaded (") + (why ? why : "unknown") +
              "); GPU kernels are generated and compiled but not run";
    return;
  }
  bool missing = false;
  std::string missing_name;
  auto sym = [&](auto& fp, const char* name) {
    void* p = dlsym(lib_, name);
    if (!p && !missing) {
      missing = true;
      missing_name = name;
    }
    fp = reinterpret_cast<std::remove_reference_t<decltype(fp)>>(p);
  };
  sym(cuInit_, "cuInit");
  sym(cuDriverGetVersion_, "cuDriverGetVersion");
  sym(cuDeviceGetCount_, "cuDeviceGetCount");
  sym(cuDeviceGet_, "cuDeviceGet");
  sym(cuDeviceGetName_, "cuDeviceGetName");
  sym(cuDeviceGetAttribute_, "cuDeviceGetAttribute");
  sym(cuDevicePrimaryCtxRetain_, "cuDevicePrimaryCtxRetain");
  sym(cuCtxSetCurrent_, "cuCtxSetCurrent");
  sym(cuModuleLoadData_, "cuModuleLoadData");
  sym(cuModuleUnload_, "cuModuleUnload");
  sym(cuModuleGetFunction_, "cuModuleGetFunction");
  sym(cuMemAlloc_, "cuMemAlloc_v2");
  sym(cuMemFree_, "cuMemFree_v2");
  sym(cuMemcpyHtoD_, "cuMemcpyHtoD_v2");
  sym(cuMemcpyDtoH_, "cuMemcpyDtoH_v2");
  sym(cuLaunchKernel_, "cuLaunchKernel");
  sym(cuCtxSynchronize_, "cuCtxSynchronize");
  sym(cuGetErrorString_, "cuGetErrorString");
  if (missing) {
    status_ = "no CUDA driver: libcuda.so.1 lacks " + missing_name;
    return;
  }
  int rc = cuInit_(0);
  if (rc != 0) {
    status_ = rc == 34    ? "no CUDA driver: only the CUDA stub library is installed"
              : rc == 100 ? "no CUDA driver: the driver finds no GPU"
                          : "no CUDA driver: cuInit failed with " + check(rc, "cuInit");
    return;
  }
  cuDriverGetVersion_(&driver_version_);
  int count = 0;
  if (cuDeviceGetCount_(&count) != 0 || count == 0) {
    status_ = "no CUDA driver: the driver finds no GPU";
    return;
  }
  if (int e = cuDeviceGet_(&device_, 0)) {
    status_ = "no CUDA driver: " + check(e, "cuDeviceGet");
    return;
  }
  char name[256] = {0};
  cuDeviceGetName_(name, sizeof name - 1, device_);
  device_name_ = name;
  int major = 0, minor = 0;
  cuDeviceGetAttribute_(&major, kAttrCcMajor, device_);
  cuDeviceGetAttribute_(&minor, kAttrCcMinor, device_);
  cc_ = major * 10 + minor;
  if (int e = cuDevicePrimaryCtxRetain_(&ctx_, device_)) {
    status_ = "no CUDA driver: " + check(e, "cuDevicePrimaryCtxRetain");
    return;
  }
  if (int e = cuCtxSetCurrent_(ctx_)) {
    status_ = "no CUDA driver: " + check(e, "cuCtxSetCurrent");
    return;
  }
  ok_ = true;
  status_ = device_name_ + " (compute capability " + std::to_string(major) + "." + std::to_string(minor) + ", driver " +
            std::to_string(driver_version_ / 1000) + "." + std::to_string(driver_version_ % 1000 / 10) + ")";
}

std::string CudaDriver::check(int rc, const char* what) {
  if (rc == 0) return "";
  const char* s = nullptr;
  if (cuGetErrorString_) cuGetErrorString_(rc, &s);
  return std::string(what) + " failed: " + (s ? s : "CUDA error " + std::to_string(rc));
}

#define LS_NEED_DRIVER() \
  if (!ok_) return status_;

std::string CudaDriver::make_current() {
  LS_NEED_DRIVER();
  return check(cuCtxSetCurrent_(ctx_), "cuCtxSetCurrent");
}
std::string CudaDriver::load_module(const void* image, void** module) {
  LS_NEED_DRIVER();
  return check(cuModuleLoadData_(module, image), "cuModuleLoadData");
}
std::string CudaDriver::unload_module(void* module) {
  LS_NEED_DRIVER();
  return check(cuModuleUnload_(module), "cuModuleUnload");
}
std::string CudaDriver::get_function(void* module, const std::string& name, void** fn) {
  LS_NEED_DRIVER();
  return check(cuModuleGetFunction_(fn, module, name.c_str()), "cuModuleGetFunction");
}
std::string CudaDriver::alloc(size_t bytes, CudaDevicePtr* ptr) {
  LS_NEED_DRIVER();
  return check(cuMemAlloc_(ptr, bytes ? bytes : 1), "cuMemAlloc");
}
std::string CudaDriver::free(CudaDevicePtr ptr) {
  LS_NEED_DRIVER();
  return check(cuMemFree_(ptr), "cuMemFree");
}
std::string CudaDriver::copy_to_device(CudaDevicePtr dst, const void* src, size_t bytes) {
  LS_NEED_DRIVER();
  if (!bytes) return "";
  return check(cuMemcpyHtoD_(dst, src, bytes), "cuMemcpyHtoD");
}
std::string CudaDriver::copy_to_host(void* dst, CudaDevicePtr src, size_t bytes) {
  LS_NEED_DRIVER();
  if (!bytes) return "";
  return check(cuMemcpyDtoH_(dst, src, bytes), "cuMemcpyDtoH");
}
std::string CudaDriver::launch(void* fn, const unsigned grid[3], const unsigned block[3], void** args) {
  LS_NEED_DRIVER();
  return check(cuLaunchKernel_(fn, grid[0], grid[1], grid[2], block[0], block[1], block[2], 0, nullptr, args, nullptr),
               "cuLaunchKernel");
}
std::string CudaDriver::synchronize() {
  LS_NEED_DRIVER();
  return check(cuCtxSynchronize_(), "cuCtxSynchronize");
}

}  // namespace loopscope::jit
