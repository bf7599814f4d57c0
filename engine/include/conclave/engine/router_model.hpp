// A model that sends each call to a provider by its model reference (see model_routes.hpp):
// "anthropic:claude-sonnet-4-5" to the anthropic model as "claude-sonnet-4-5", a bare name or
// none to the default provider, an alias to where it points. Each provider is a model the
// caller built and wrapped in its own limits and breakers, so one provider's 429s or open
// circuit never slow another; agents, phases and fallback chains can then cross providers.
//
// Thread safety: the routing table is fixed at construction, so calls may come from any thread
// as far as the providers allow.
#pragma once

#include <conclave/engine/model.hpp>
#include <conclave/engine/model_routes.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace conclave {

class router_model final : public model {
 public:
  /// One provider: the name references use, and its model (which must outlive the router).
  struct provider {
    std::string name;
    std::reference_wrapper<conclave::model> target;
  };

  /// Throws std::invalid_argument as model_routes does (no providers, a repeated name, an
  /// unknown default, a bad alias), naming what is wrong.
  router_model(std::vector<provider> providers, std::string default_provider,
               alias_table aliases = {});

  /// "router(openai, anthropic)": the providers in the order given.
  std::string describe() const override;
  /// "anthropic:claude-sonnet-4-5" for any reference that leads there.
  std::string describe_model(std::string_view requested) const override {
    return routes_.describe(requested);
  }
  std::string describe(std::string_view ref) const { return routes_.describe(ref); }
  /// The default provider's executor.
  boost::asio::any_io_executor get_executor() const override;

  /// Where a reference leads: for the CLI and reports to name things.
  struct resolved {
    std::string provider;
    conclave::model& target;
    std::string model;  ///< what the provider is asked for; empty: its default
  };
  resolved resolve(std::string_view ref) const;

  const model_routes& routes() const noexcept { return routes_; }

 protected:
  /// Forwards the call to the provider the request's model leads to, with `model` rewritten
  /// to the bare name (empty stays empty). The handler goes through as it is, so the inner
  /// call completes on `ex` and sees the caller's cancellation slot. The reply is the
  /// provider's, its `model` as the provider named it.
  void do_complete(boost::asio::any_io_executor ex, chat_request req, delta_handler on_delta,
                   completion_handler&& handler) override;

 private:
  model& target_of(const std::string& name) const;

  std::vector<provider> providers_;
  model_routes routes_;
};

}  // namespace conclave
