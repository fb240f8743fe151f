#include "broker/audit/audit_record.h"

#include <nlohmann/json.hpp>

#include <string_view>

namespace latchkey::audit {

namespace {

using Json = nlohmann::ordered_json;

std::string Cap(const std::string& s) {
  if (s.size() <= kMaxFieldBytes) return s;
  static const std::string kMark = "...[truncated]";
  return s.substr(0, kMaxFieldBytes - kMark.size()) + kMark;
}

Json StepJson(const StepInfo& step) {
  Json j = Json::object();
  j["stage"] = Cap(step.stage);
  j["index"] = step.index;
  j["line"] = step.line;
  j["instruction"] = Cap(step.instruction);
  return j;
}

void Mask(std::string* s, std::string_view value) {
  static const std::string kMasked = "[masked]";
  size_t pos = 0;
  while ((pos = s->find(value, pos)) != std::string::npos) {
    s->replace(pos, value.size(), kMasked);
    pos += kMasked.size();
  }
}

void PeerJson(const std::optional<PeerInfo>& peer, Json* out) {
  if (!peer) return;
  Json j = Json::object();
  j["transport"] = Cap(peer->transport);
  if (peer->uid >= 0) {
    j["uid"] = peer->uid;
    j["gid"] = peer->gid;
    j["pid"] = peer->pid;
    j["user"] = Cap(peer->user);
  }
  if (!peer->client_cn.empty()) j["client_cn"] = Cap(peer->client_cn);
  if (!peer->address.empty()) j["address"] = Cap(peer->address);
  (*out)["peer"] = std::move(j);
}

}  // namespace

const char* FetchOutcomeName(FetchOutcome outcome) {
  switch (outcome) {
    case FetchOutcome::kGranted:
      return "granted";
    case FetchOutcome::kDenied:
      return "denied";
    case FetchOutcome::kNotFound:
      return "not_found";
    case FetchOutcome::kError:
      return "error";
  }
  return "error";
}

const char* SshOutcomeName(SshOutcome outcome) {
  switch (outcome) {
    case SshOutcome::kGranted:
      return "granted";
    case SshOutcome::kNotFound:
      return "not_found";
    case SshOutcome::kUnusable:
      return "unusable";
  }
  return "unusable";
}

const char* EventName(const AuditRecord& record) {
  switch (record.index()) {
    case 0:
      return "session.open";
    case 1:
      return "secret.fetch";
    case 2:
      return "session.close";
    case 3:
      return "leak.finding";
    case 4:
      return "cache.hit";
    case 5:
      return std::get<RecoveredRecord>(record).daemon ? "daemon.recovered" : "recovered";
    case 6:
      return "provider.crashed";
    default:
      return "ssh.forward";
  }
}

void AppendEventFields(const AuditRecord& record, Json* out) {
  Json& j = *out;
  if (const auto* r = std::get_if<SessionOpenRecord>(&record)) {
    j["session"] = Cap(r->session);
    j["requester"] = Cap(r->requester);
    j["dockerfile"] = Cap(r->dockerfile);
    j["context"] = Cap(r->context);
    // Label values only as HMACs (AuditLog::Append); `labels` itself is never written.
    Json labels = Json::object();
    for (const auto& [k, h] : r->label_hmacs) labels[Cap(k)] = h;
    j["label_hmacs"] = std::move(labels);
    PeerJson(r->peer, &j);
  } else if (const auto* r = std::get_if<SecretFetchRecord>(&record)) {
    j["session"] = Cap(r->session);
    j["secret"] = Cap(r->secret);
    j["outcome"] = FetchOutcomeName(r->outcome);
    j["rule"] = Cap(r->rule);
    j["provider"] = Cap(r->provider);
    j["reference"] = Cap(r->reference);
    if (!r->resolved.empty()) j["resolved"] = Cap(r->resolved);
    j["version"] = Cap(r->version);
    if (!r->registry.host.empty()) {
      Json reg = Json::object();
      reg["host"] = Cap(r->registry.host);
      reg["repository"] = Cap(r->registry.repository);
      reg["scope"] = Cap(r->registry.scope);
      j["registry"] = std::move(reg);
    }
    j["step"] = StepJson(r->step);
    j["requester"] = Cap(r->requester);
    j["duration_us"] = r->duration_us;
    if (r->outcome == FetchOutcome::kGranted) {
      j["value_hmac"] = r->value_hmac;
      if (!r->part_hmacs.empty()) j["part_hmacs"] = r->part_hmacs;
    } else {
      j["error"] = Cap(r->error);
    }
    PeerJson(r->peer, &j);
  } else if (const auto* r = std::get_if<SessionCloseRecord>(&record)) {
    j["session"] = Cap(r->session);
    j["reason"] = Cap(r->reason);
    j["fetches"] = r->fetches;
    j["duration_us"] = r->duration_us;
    PeerJson(r->peer, &j);
  } else if (const auto* r = std::get_if<LeakFindingRecord>(&record)) {
    j["session"] = Cap(r->session);
    j["finding"] = Cap(r->finding);
    j["secret"] = Cap(r->secret);
    j["layer"] = Cap(r->layer);
    j["path"] = Cap(r->path);
    j["step"] = StepJson(r->step);
    PeerJson(r->peer, &j);
  } else if (const auto* r = std::get_if<CacheHitRecord>(&record)) {
    j["session"] = Cap(r->session);
    j["cache_key"] = Cap(r->cache_key);
    Json secrets = Json::array();
    for (const CacheHitSecret& s : r->secrets) {
      Json e = Json::object();
      e["secret"] = Cap(s.secret);
      e["rule"] = Cap(s.rule);
      e["provider"] = Cap(s.provider);
      e["reference"] = Cap(s.reference);
      if (!s.resolved.empty()) e["resolved"] = Cap(s.resolved);
      secrets.push_back(std::move(e));
    }
    j["secrets"] = std::move(secrets);
    j["step"] = StepJson(r->step);
    j["requester"] = Cap(r->requester);
    PeerJson(r->peer, &j);
  } else if (const auto* r = std::get_if<RecoveredRecord>(&record)) {
    auto list = [](const std::vector<std::string>& items) {
      Json a = Json::array();
      for (const auto& s : items) a.push_back(Cap(s));
      return a;
    };
    j["state_dir"] = Cap(r->state_dir);
    j["containers"] = list(r->containers);
    j["mounts"] = list(r->mounts);
    j["dirs"] = list(r->dirs);
    if (r->daemon) j["previous_pid"] = r->previous_pid;
  } else if (const auto* r = std::get_if<ProviderCrashedRecord>(&record)) {
    j["session"] = Cap(r->session);
    j["provider"] = Cap(r->provider);
    j["secret"] = Cap(r->secret);
    j["signal"] = r->signal;
    j["signal_name"] = Cap(r->signal_name);
    j["exit_status"] = r->exit_status;
    j["crashes"] = r->crashes;
    j["backoff"] = r->backoff;
  } else if (const auto* r = std::get_if<SshForwardRecord>(&record)) {
    j["session"] = Cap(r->session);
    j["ssh"] = Cap(r->ssh);
    j["outcome"] = SshOutcomeName(r->outcome);
    j["agent"] = Cap(r->agent);
    if (r->required) j["required"] = *r->required;
    j["step"] = StepJson(r->step);
    j["requester"] = Cap(r->requester);
    if (r->outcome != SshOutcome::kGranted) j["error"] = Cap(r->error);
    PeerJson(r->peer, &j);
  }
}

void MaskValue(AuditRecord* record, std::span<const uint8_t> value) {
  if (value.size() < 4) return;
  std::string_view v(reinterpret_cast<const char*>(value.data()), value.size());
  auto mask_step = [&](StepInfo* step) {
    Mask(&step->stage, v);
    Mask(&step->instruction, v);
  };
  if (auto* r = std::get_if<SessionOpenRecord>(record)) {
    Mask(&r->requester, v);
    Mask(&r->dockerfile, v);
    Mask(&r->context, v);
  } else if (auto* r = std::get_if<SecretFetchRecord>(record)) {
    Mask(&r->reference, v);
    Mask(&r->resolved, v);
    Mask(&r->version, v);
    Mask(&r->registry.repository, v);
    Mask(&r->requester, v);
    Mask(&r->error, v);
    Mask(&r->rule, v);
    mask_step(&r->step);
  } else if (auto* r = std::get_if<SessionCloseRecord>(record)) {
    Mask(&r->reason, v);
  } else if (auto* r = std::get_if<LeakFindingRecord>(record)) {
    Mask(&r->path, v);
    mask_step(&r->step);
  } else if (auto* r = std::get_if<CacheHitRecord>(record)) {
    for (CacheHitSecret& s : r->secrets) {
      Mask(&s.reference, v);
      Mask(&s.resolved, v);
    }
    mask_step(&r->step);
  } else if (auto* r = std::get_if<SshForwardRecord>(record)) {
    Mask(&r->requester, v);
    Mask(&r->error, v);
    mask_step(&r->step);
  }
}

}  // namespace latchkey::audit
