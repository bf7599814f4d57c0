#include <conclave/engine/router_model.hpp>

#include <boost/asio/bind_executor.hpp>

#include <algorithm>

namespace asio = boost::asio;

namespace conclave {
namespace {

std::vector<std::string> names_of(const std::vector<router_model::provider>& providers) {
  std::vector<std::string> names;
  names.reserve(providers.size());
  for (const auto& p : providers) names.push_back(p.name);
  return names;
}

}  // namespace

router_model::router_model(std::vector<provider> providers, std::string default_provider,
                           alias_table aliases)
    : providers_(std::move(providers)),
      routes_(names_of(providers_), std::move(default_provider), std::move(aliases)) {}

std::string router_model::describe() const {
  std::string out = "router(";
  for (std::size_t i = 0; i < providers_.size(); ++i) {
    out += (i ? ", " : "") + providers_[i].name;
  }
  return out + ")";
}

asio::any_io_executor router_model::get_executor() const {
  return target_of(routes_.default_provider()).get_executor();
}

model& router_model::target_of(const std::string& name) const {
  // A handful of providers: a linear look-up beats a map. Every route names one of them.
  return std::find_if(providers_.begin(), providers_.end(),
                      [&](const auto& p) { return p.name == name; })
      ->target.get();
}

router_model::resolved router_model::resolve(std::string_view ref) const {
  model_route r = routes_.resolve(ref);
  model& target = target_of(r.provider);
  return {std::move(r.provider), target, std::move(r.model)};
}

void router_model::do_complete(asio::any_io_executor ex, chat_request req, delta_handler on_delta,
                               completion_handler&& handler) {
  model_route r = routes_.resolve(req.model);
  req.model = std::move(r.model);
  // Bound to `ex` so the inner call runs where this one was meant to; the binder passes the
  // handler's cancellation slot through untouched.
  target_of(r.provider)
      .async_complete(std::move(req), std::move(on_delta),
                      asio::bind_executor(std::move(ex), std::move(handler)));
}

}  // namespace conclave
