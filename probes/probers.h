#pragma once
// The registry of probe kinds: the prober for a target's method.
#include "config/config.h"
#include "probes/prober.h"

namespace stx {

const Prober& prober_for(ProbeMethod method);

}  // namespace stx
