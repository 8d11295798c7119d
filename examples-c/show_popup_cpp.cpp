// show_popup_cpp: the C++ way to hold a liblsq client (RAII: the client is
// freed, and its queued popups finished, when the owner goes out of scope).
// Host and keys from LSQ_HOST, LSQ_ACCESS_KEY, LSQ_SECRET_KEY.
//
// SPDX-License-Identifier: MIT OR Apache-2.0
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "lsq.h"

namespace {

struct ClientDeleter {
    void operator()(lsq_client *client) const { lsq_free(client); }
};
using Client = std::unique_ptr<lsq_client, ClientDeleter>;

struct OptionsDeleter {
    void operator()(lsq_options *options) const { lsq_options_free(options); }
};
using Options = std::unique_ptr<lsq_options, OptionsDeleter>;

const char *env(const char *name)
{
    const char *value = std::getenv(name);
    if (value == nullptr) {
        std::fprintf(stderr, "set %s\n", name);
        std::exit(LSQ_ERR_INVALID_ARGUMENT);
    }
    return value;
}

}  // namespace

int main()
{
    Options options(lsq_options_new());
    if (!options || lsq_options_set(options.get(), "timeout_ms", "3000") != LSQ_OK) {
        std::fprintf(stderr, "options: %s\n", lsq_last_error());
        return LSQ_ERR_INVALID_ARGUMENT;
    }
    Client client(lsq_client_new_with_options(env("LSQ_HOST"), env("LSQ_ACCESS_KEY"),
                                              env("LSQ_SECRET_KEY"), options.get()));
    if (!client) {
        std::fprintf(stderr, "client: %s\n", lsq_last_error());
        return LSQ_ERR_INVALID_ARGUMENT;
    }

    const std::string session = "cpp-example-1";
    lsq_popup popup = {};
    popup.source_number = "+91-8611795988";
    popup.destination_number = "+91-8971373363";
    popup.display_number = "+91-8611795989";
    popup.direction = LSQ_INBOUND;
    popup.call_session_id = session.c_str();
    popup.lead_id = "f5c7e023-653c-11e7-b25c-023cca4497b9";
    popup.user_id = "dd908e91-c5c9-11e5-8de3-22000aa5088d";

    lsq_result result;
    lsq_status status = lsq_show_agent_popup(client.get(), &popup, &result);
    std::printf("%s: %s (%s)\n", lsq_status_str(status), result.message, result.message_id);
    return status;
}
