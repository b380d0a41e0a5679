#include "probes/clock.h"

#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace stx {
namespace {

class AsioAlarm final : public Alarm {
 public:
  AsioAlarm(boost::asio::io_context& io, std::function<void()> fire)
      : timer_(io), fire_(std::move(fire)) {}

  void set(TimePoint at) override {
    timer_.expires_at(at);  // cancels an earlier wait, whose handler sees operation_aborted
    timer_.async_wait([this](const boost::system::error_code& ec) {
      // Aborted: replaced or cancelled, and perhaps destroyed, so `this` is not touched.
      if (ec == boost::asio::error::operation_aborted) return;
      fire_();
    });
  }
  void cancel() override { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
  std::function<void()> fire_;
};

}  // namespace

std::unique_ptr<Alarm> AsioClock::make_alarm(std::function<void()> fire) {
  return std::make_unique<AsioAlarm>(io_, std::move(fire));
}

}  // namespace stx
