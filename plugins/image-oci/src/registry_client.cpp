#include "registry_client.hpp"

#include <chrono>
#include <thread>

#include "digest.hpp"

namespace voidbox::oci {
namespace {

constexpr const char* kManifestAccept =
    "Accept: application/vnd.oci.image.index.v1+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

std::string url_escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string status_text(const HttpResponse& r) {
  std::string detail = registry_error_text(r.body);
  return "HTTP " + std::to_string(r.status) + (detail.empty() ? "" : " (" + detail + ")");
}

}  // namespace

bool is_retryable_status(long status) {
  return status == 429 || status >= 500;
}

Result<HttpResponse> with_retries(const std::function<Result<HttpResponse>()>& attempt,
                                  int max_attempts) {
  auto delay = std::chrono::milliseconds(250);
  for (int i = 1;; ++i) {
    auto result = attempt();
    bool transient = result ? is_retryable_status(result->status) : result.error().retryable;
    if (!transient || i >= max_attempts) return result;
    std::this_thread::sleep_for(delay);
    delay *= 2;
  }
}

Result<std::unique_ptr<RegistryClient>> RegistryClient::create(const Reference& ref,
                                                               const ClientOptions& options) {
  auto credentials = find_credentials(ref.registry, options.docker_config);
  if (!credentials) return std::unexpected(credentials.error());
  std::string scheme = uses_plain_http(ref, options.insecure_registries) ? "http://" : "https://";
  return std::unique_ptr<RegistryClient>(
      new RegistryClient(ref, scheme + ref.api_host(), std::move(*credentials)));
}

RegistryClient::RegistryClient(Reference ref, std::string base_url,
                               std::optional<Credentials> credentials)
    : ref_(std::move(ref)), base_url_(std::move(base_url)), credentials_(std::move(credentials)) {}

std::string RegistryClient::current_auth() {
  std::lock_guard lock(auth_mutex_);
  return auth_header_;
}

Result<void> RegistryClient::answer_challenge(const HttpResponse& unauthorized,
                                              const std::string& sent_auth) {
  std::lock_guard lock(auth_mutex_);
  if (auth_header_ != sent_auth) return {};  // another thread already re-authenticated
  auto header = unauthorized.headers.find("www-authenticate");
  if (header == unauthorized.headers.end()) {
    return fail(VB_ERR_IO, ref_.registry + " answered 401 without a WWW-Authenticate challenge");
  }
  auto challenge = parse_challenge(header->second);
  if (!challenge) return std::unexpected(challenge.error());
  const std::string no_credentials =
      "authentication required by " + ref_.registry +
      " and no credentials found (set VOIDBOX_REGISTRY_USER/VOIDBOX_REGISTRY_PASSWORD or add "
      "an 'auths' entry to ~/.docker/config.json)";
  std::string basic = credentials_
                          ? "Authorization: Basic " +
                                base64_encode(credentials_->username + ":" + credentials_->password)
                          : "";
  if (challenge->scheme == "basic") {
    if (!credentials_) return fail(VB_ERR_IO, no_credentials);
    if (sent_auth == basic) {
      return fail(VB_ERR_IO, "authentication to " + ref_.registry + " failed for user '" +
                                 credentials_->username + "': wrong username or password (" +
                                 status_text(unauthorized) + ")");
    }
    auth_header_ = basic;
    return {};
  }
  if (challenge->scheme != "bearer") {
    return fail(
        VB_ERR_UNSUPPORTED,
        ref_.registry + " asks for unsupported authentication scheme '" + challenge->scheme + "'");
  }
  auto realm = challenge->params.find("realm");
  if (realm == challenge->params.end() ||
      !(realm->second.starts_with("https://") || realm->second.starts_with("http://"))) {
    return fail(VB_ERR_IO, ref_.registry + ": bearer challenge without an http(s) realm");
  }
  if (!sent_auth.empty() && sent_auth.starts_with("Authorization: Bearer") &&
      challenge->params.count("error") != 0 && challenge->params["error"] != "invalid_token") {
    return fail(VB_ERR_IO, ref_.registry + " refused the token: " + challenge->params["error"]);
  }
  std::string url = realm->second;
  char sep = url.find('?') == std::string::npos ? '?' : '&';
  if (auto service = challenge->params.find("service"); service != challenge->params.end()) {
    url += sep + std::string("service=") + url_escape(service->second);
    sep = '&';
  }
  auto scope = challenge->params.find("scope");
  url += sep + std::string("scope=") +
         url_escape(scope != challenge->params.end() ? scope->second
                                                     : "repository:" + ref_.repository + ":pull");
  HttpRequest token_request{url, {}, 0};
  if (credentials_) token_request.headers.push_back(basic);
  auto reply = with_retries([&] { return http_get(token_request, kMaxTokenBytes); });
  if (!reply) return std::unexpected(reply.error());
  if (reply->status == 401 || reply->status == 403) {
    return fail(VB_ERR_IO, credentials_ ? "token endpoint " + realm->second + " rejected user '" +
                                              credentials_->username + "': " + status_text(*reply)
                                        : no_credentials + " (token endpoint said " +
                                              status_text(*reply) + ")");
  }
  if (reply->status != 200) {
    return fail(VB_ERR_IO, "token endpoint " + realm->second + ": " + status_text(*reply));
  }
  auto token = token_from_response(reply->body);
  if (!token) return std::unexpected(token.error());
  auth_header_ = "Authorization: Bearer " + *token;
  return {};
}

Result<HttpResponse> RegistryClient::get(const std::string& path, std::vector<std::string> headers,
                                         std::uint64_t offset, size_t max_body,
                                         const BodySink& sink) {
  for (int round = 0; round < 3; ++round) {
    std::string auth = current_auth();
    HttpRequest request{base_url_ + path, headers, offset};
    if (!auth.empty()) request.headers.push_back(auth);
    auto response = http_get(request, max_body, sink);
    if (!response || response->status != 401) return response;
    if (auto answered = answer_challenge(*response, auth); !answered) {
      return std::unexpected(answered.error());
    }
  }
  return fail(VB_ERR_IO, "authentication to " + ref_.registry + " did not converge");
}

Result<FetchedManifest> RegistryClient::fetch_manifest(std::string_view reference) {
  std::string path = "/v2/" + ref_.repository + "/manifests/" + std::string(reference);
  auto response =
      with_retries([&] { return get(path, {kManifestAccept}, 0, kMaxManifestBytes, {}); });
  if (!response) return std::unexpected(response.error());
  if (response->status == 404) {
    return fail(VB_ERR_NOT_FOUND, "manifest " + ref_.registry + "/" + ref_.repository + ":" +
                                      std::string(reference) + " not found (" +
                                      status_text(*response) + ")");
  }
  if (response->status != 200) {
    return fail(VB_ERR_IO, "manifest " + std::string(reference) + " of " + ref_.registry + "/" +
                               ref_.repository + ": " + status_text(*response));
  }
  FetchedManifest manifest;
  manifest.body = std::move(response->body);
  manifest.digest = sha256_of(manifest.body);
  if (auto ct = response->headers.find("content-type"); ct != response->headers.end()) {
    manifest.media_type = ct->second.substr(0, ct->second.find(';'));
  }
  if (is_valid_digest(reference) && manifest.digest != reference) {
    return fail(VB_ERR_IO, "manifest digest mismatch: asked for " + std::string(reference) +
                               ", content hashes to " + manifest.digest);
  }
  if (auto header = response->headers.find("docker-content-digest");
      header != response->headers.end() && is_valid_digest(header->second) &&
      header->second != manifest.digest) {
    return fail(VB_ERR_IO, "manifest digest mismatch: registry says " + header->second +
                               ", content hashes to " + manifest.digest);
  }
  return manifest;
}

Result<HttpResponse> RegistryClient::fetch_blob_once(std::string_view digest, std::uint64_t offset,
                                                     const BodySink& sink) {
  return get("/v2/" + ref_.repository + "/blobs/" + std::string(digest), {}, offset, 0, sink);
}

Result<std::string> RegistryClient::fetch_small_blob(std::string_view digest, size_t max_bytes) {
  std::string path = "/v2/" + ref_.repository + "/blobs/" + std::string(digest);
  auto response = with_retries([&] { return get(path, {}, 0, max_bytes, {}); });
  if (!response) return std::unexpected(response.error());
  if (response->status != 200) {
    return fail(response->status == 404 ? VB_ERR_NOT_FOUND : VB_ERR_IO,
                "blob " + std::string(digest) + ": " + status_text(*response));
  }
  if (sha256_of(response->body) != digest) {
    return fail(VB_ERR_IO, "blob " + std::string(digest) +
                               " failed verification: content hashes to " +
                               sha256_of(response->body));
  }
  return std::move(response->body);
}

}  // namespace voidbox::oci
