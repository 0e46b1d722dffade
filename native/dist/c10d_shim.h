// The one seam between libtorch versions for c10d: in 1.13 ProcessGroupGloo / ProcessGroupNCCL are
// c10d::ProcessGroups, in 2.x they are c10d::Backends (a ProcessGroup then holds them); both bases offer the
// same collectives, so the handle talks to `CollectiveBase` only. Device creation gained a lazyInit flag in 2.x.
#pragma once
#include "common.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if SF_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if SF_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace sf::dist {

#if TORCH_VERSION_MAJOR >= 2
using CollectiveBase = c10d::Backend;
#else
using CollectiveBase = c10d::ProcessGroup;
#endif

#if SF_WITH_GLOO
// The Gloo transport: GLOO_SOCKET_IFNAME (as torch.distributed) names the interface; otherwise a job whose
// master is loopback stays on loopback, and a multi-machine job binds this host's resolvable name.
inline std::shared_ptr<::gloo::transport::Device> GlooDevice(const std::string& master_addr) {
  const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
  bool loopback = master_addr == "127.0.0.1" || master_addr == "localhost" || master_addr == "::1";
#if TORCH_VERSION_MAJOR >= 2
  if (ifname && *ifname) return c10d::ProcessGroupGloo::createDeviceForInterface(ifname, false);
  if (loopback) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1", false);
  return c10d::ProcessGroupGloo::createDefaultDevice(false);
#else
  if (ifname && *ifname) return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  if (loopback) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
#endif
}

inline c10::intrusive_ptr<CollectiveBase> MakeGloo(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                   std::chrono::milliseconds timeout, const std::string& master_addr) {
  auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
  opts->devices.push_back(GlooDevice(master_addr));
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, opts);
}

#endif

inline bool HasGloo() { return SF_WITH_GLOO != 0; }
inline bool HasNccl() { return SF_WITH_NCCL != 0; }

// Throws, with the reason, when `backend` was not compiled in.
inline void RequireBackend(const std::string& backend) {
  if (backend == "gloo" && !HasGloo())
    throw CodedError("ERR_DEVICE", "backend 'gloo': this addon was built without Gloo (its headers, Debian's "
                     "libgloo-dev, were not found at build time; see docs/distributed.md)");
  if (backend == "nccl" && !HasNccl())
    throw CodedError("ERR_DEVICE", "backend 'nccl': this addon was built without NCCL (it needs a CUDA libtorch "
                     "that ships ProcessGroupNCCL; see docs/distributed.md); use backend 'gloo' on the CPU");
}

inline c10::intrusive_ptr<CollectiveBase> MakeBackend(const std::string& backend,
                                                      const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                                      int size, std::chrono::milliseconds timeout,
                                                      const std::string& master_addr) {
  RequireBackend(backend);
#if SF_WITH_GLOO
  if (backend == "gloo") return MakeGloo(store, rank, size, timeout, master_addr);
#endif
#if SF_WITH_NCCL
  auto opts = c10d::ProcessGroupNCCL::Options::create();
  opts->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, opts);
#else
  throw CodedError("ERR_DEVICE", "backend '" + backend + "' is not available");
#endif
}

}  // namespace sf::dist
