#include "probes/probers.h"

#include "probes/options_prober.h"

namespace stx {

const Prober& prober_for(ProbeMethod method) {
  static const OptionsProber options;
  switch (method) {  // one line per kind
    case ProbeMethod::options:
      return options;
  }
  return options;
}

}  // namespace stx
