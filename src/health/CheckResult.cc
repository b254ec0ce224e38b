#include "ringlb/health/CheckResult.h"

namespace ringlb::health {

const char* toString(FailureReason reason) {
  switch (reason) {
    case FailureReason::Refused: return "refused";
    case FailureReason::Timeout: return "timeout";
    case FailureReason::BadStatus: return "bad_status";
    case FailureReason::BadResponse: return "bad_response";
    case FailureReason::Error: return "error";
    case FailureReason::ConnectFailed: return "connect_failed";
  }
  return "unknown";
}

}  // namespace ringlb::health
