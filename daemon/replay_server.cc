#include "daemon/replay_server.h"

#include <algorithm>
#include <optional>
#include <vector>

#include <zmq.hpp>

#include "daemon/server_socket.h"
#include "pipeline/core/logging.h"
#include "skynet/protocol.h"

namespace skynet::daemon {
namespace {

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// A length-delimited field, hand-encoded so that journaled event bytes go out as they are,
// without parsing and re-serialising them.
void PutBytesField(std::string* out, int field, std::string_view bytes) {
  PutVarint(out, (static_cast<uint64_t>(field) << 3) | 2);
  PutVarint(out, bytes.size());
  out->append(bytes);
}

constexpr int kItemsField = 5;  // ReplayResponse.items
constexpr int kEventField = 1;  // ReplayItem.event

}  // namespace

std::string BuildReplayResponse(const Journal& journal, const v1::ReplayRequest& request,
                                const ReplayServerOptions& options, size_t* events) {
  *events = 0;
  v1::ReplayResponse head;
  head.set_request_id(request.request_id());
  head.set_node_id(options.node_id);
  std::vector<EpochInfo> epochs = journal.Epochs();
  uint64_t live = journal.current_epoch();
  if (live == 0 && !epochs.empty()) live = epochs.back().epoch;
  head.set_live_epoch(live);
  auto fail = [&](const std::string& error) {
    head.set_ok(false);
    head.set_error(error);
    return head.SerializeAsString();
  };
  if (!request.node_id().empty() && request.node_id() != options.node_id) {
    return fail("this is node '" + options.node_id + "', not '" + request.node_id() + "'");
  }
  if (request.epoch() > live) {
    return fail("epoch " + std::to_string(request.epoch()) + " is newer than this node's " +
                "current epoch " + std::to_string(live));
  }
  const size_t max_events =
      request.max_events() == 0 || request.max_events() > options.max_events_per_response
          ? options.max_events_per_response
          : request.max_events();

  std::string items;
  auto add_gap = [&](uint64_t epoch, uint64_t first, uint64_t last, v1::GapReason reason) {
    v1::ReplayItem item;
    auto* gap = item.mutable_gap();
    gap->set_node_id(options.node_id);
    gap->set_epoch(epoch);
    gap->set_first_seq(first);
    gap->set_last_seq(last);
    gap->set_reason(reason);
    PutBytesField(&items, kItemsField, item.SerializeAsString());
  };
  // Seqs first..last are missing from `info`'s epoch: those that damage destroyed are CORRUPT,
  // the others `reason`.
  auto add_hole = [&](const EpochInfo& info, uint64_t first, uint64_t last, v1::GapReason reason) {
    for (const SeqRange& c : info.corrupt) {
      if (c.last < first || c.first > last) continue;
      if (c.first > first) add_gap(info.epoch, first, c.first - 1, reason);
      const uint64_t to = std::min(c.last, last);
      add_gap(info.epoch, std::max(c.first, first), to, v1::GAP_REASON_CORRUPT);
      first = to + 1;
      if (to == last) return;
    }
    add_gap(info.epoch, first, last, reason);
  };

  uint64_t epoch = request.epoch(), seq = request.after_seq();
  if (epoch == 0) {  // from the oldest retained event, without a gap before it
    epoch = epochs.empty() ? live : epochs.front().epoch;
    seq = epochs.empty() || epochs.front().first_seq == 0 ? 0 : epochs.front().first_seq - 1;
    // ...but with the seqs that damage destroyed before it.
    if (!epochs.empty() && !epochs.front().corrupt.empty()) {
      seq = std::min(seq, epochs.front().corrupt.front().first - 1);
    }
  }
  size_t k = std::lower_bound(epochs.begin(), epochs.end(), epoch,
                              [](const EpochInfo& e, uint64_t v) { return e.epoch < v; }) -
             epochs.begin();
  if ((k == epochs.size() || epochs[k].epoch != epoch) && epoch != live) {
    // The whole epoch is gone (or had no event): its end is unknown.
    add_gap(epoch, seq + 1, 0, v1::GAP_REASON_RETENTION);
    epoch = k < epochs.size() ? epochs[k].epoch : live;
    seq = 0;
  }
  bool caught_up = false;
  size_t bytes = 0;
  std::vector<JournalRecord> records;
  std::string item;
  while (true) {
    if (k >= epochs.size() || epochs[k].epoch != epoch) {  // the live epoch, nothing journaled
      caught_up = true;
      break;
    }
    const EpochInfo& info = epochs[k];
    if (seq + 1 < info.first_seq) {
      add_hole(info, seq + 1, info.first_seq - 1, v1::GAP_REASON_RETENTION);
      seq = info.first_seq - 1;
    }
    if (seq < info.last_seq) {
      if (*events >= max_events || bytes >= options.max_response_bytes) break;
      records.clear();
      Status st = journal.ReadEpoch(epoch, seq, max_events - *events,
                                    options.max_response_bytes - bytes, &records);
      if (!st.ok()) GetLogger("events")->warn("replay: {}", st.message());
      if (records.empty()) {  // removed meanwhile, or unreadable
        add_hole(info, seq + 1, info.last_seq, v1::GAP_REASON_NOT_JOURNALED);
        seq = info.last_seq;
        continue;
      }
      for (const JournalRecord& r : records) {
        if (r.seq != seq + 1) add_hole(info, seq + 1, r.seq - 1, v1::GAP_REASON_NOT_JOURNALED);
        item.clear();
        PutBytesField(&item, kEventField, r.payload);
        PutBytesField(&items, kItemsField, item);
        seq = r.seq;
        ++*events;
        bytes += r.payload.size();
      }
      continue;
    }
    if (epoch == live) {
      caught_up = true;
      break;
    }
    // Published after the last journaled event: NOT_JOURNALED (a failing disk), except the seqs
    // after a torn tail, which Journal::Epochs() lists as corrupt and add_hole labels CORRUPT.
    if (seq < info.end_seq) {
      add_hole(info, seq + 1, info.end_seq, v1::GAP_REASON_NOT_JOURNALED);
      seq = info.end_seq;
    }
    v1::ReplayItem end;
    end.mutable_epoch_end()->set_epoch(epoch);
    end.mutable_epoch_end()->set_last_seq(info.end_seq);
    PutBytesField(&items, kItemsField, end.SerializeAsString());
    ++k;
    epoch = k < epochs.size() ? epochs[k].epoch : live;
    seq = 0;
  }
  head.set_ok(true);
  head.set_next_epoch(epoch);
  head.set_next_seq(seq);
  head.set_end_of_journal(caught_up);
  return head.SerializeAsString() + items;
}

ReplayServer::ReplayServer(const ReplayServerOptions& options, const Journal* journal,
                           Clock* clock)
    : options_(options), journal_(journal), clock_(clock) {}

Result<std::unique_ptr<ReplayServer>> ReplayServer::Create(const ReplayServerOptions& options,
                                                           const Journal* journal, Clock* clock) {
  std::unique_ptr<ReplayServer> server(new ReplayServer(options, journal, clock));
  Result<std::unique_ptr<ServerSocket>> socket =
      ServerSocket::Bind({.kind = ServerSocket::Kind::kRouter,
                          .endpoint = options.endpoint,
                          .config_key = "replay_endpoint",
                          .domain = "replay",
                          .limits = {.max_message_bytes = options.max_request_bytes},
                          .security = options.security});
  if (!socket) return socket.status();
  server->socket_ = std::move(socket).value();
  server->thread_ = std::thread([s = server.get()] { s->Run(); });
  GetLogger("events")->info("replay on {} ({} events/s)", options.endpoint,
                            options.max_events_per_second);
  return server;
}

ReplayServer::~ReplayServer() { Stop(); }

void ReplayServer::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  socket_.reset();
}

void ReplayServer::Run() {
  auto log = GetLogger("events");
  zmq::socket_t& socket = socket_->socket();
  const double rate = std::max(1.0, options_.max_events_per_second);
  const double capacity = std::max(rate, double(options_.max_events_per_response));
  double tokens = capacity;
  int64_t last_refill = clock_->NowMonotonicUs();
  auto refill = [&] {
    const int64_t now = clock_->NowMonotonicUs();
    tokens = std::min(capacity, tokens + (now - last_refill) * rate / 1e6);
    last_refill = now;
  };
  std::vector<zmq::message_t> frames;
  while (!stop_.load()) {
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    try {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(100)) == 0) continue;
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      log->error("replay: poll failed: {}", e.what());
      break;
    }
    frames.clear();
    try {
      do {
        zmq::message_t msg;
        if (!socket.recv(msg, zmq::recv_flags::dontwait)) break;
        frames.push_back(std::move(msg));
      } while (frames.back().more() && frames.size() < 16);
      while (!frames.empty() && frames.back().more()) {  // too many frames: drain and drop
        zmq::message_t rest;
        if (!socket.recv(rest, zmq::recv_flags::dontwait)) break;
        if (!rest.more()) frames.clear();
      }
    } catch (const zmq::error_t& e) {
      continue;
    }
    if (frames.size() < 2) continue;  // no routing id: nothing to answer to
    ++requests_;
    v1::ReplayRequest request;
    std::string reply;
    size_t events = 0;
    if (!protocol::ParseLimited(&request, frames.back().data(), frames.back().size(),
                                static_cast<size_t>(options_.max_request_bytes))) {
      v1::ReplayResponse r;
      r.set_node_id(options_.node_id);
      r.set_ok(false);
      r.set_error("malformed replay request: not a skynet.v1.ReplayRequest (" +
                  std::to_string(frames.back().size()) + " bytes)");
      reply = r.SerializeAsString();
    } else {
      reply = BuildReplayResponse(*journal_, request, options_, &events);
    }
    // Pace by events: wait for the tokens, in short slices so that Stop() is prompt.
    refill();
    const int64_t wait_start = clock_->NowMonotonicUs();
    while (tokens < double(events) && !stop_.load()) {
      const double missing_us = (double(events) - tokens) / rate * 1e6;
      std::this_thread::sleep_for(
          std::chrono::microseconds(static_cast<int64_t>(std::min(missing_us, 50000.0)) + 1));
      refill();
    }
    throttled_us_ += static_cast<uint64_t>(clock_->NowMonotonicUs() - wait_start);
    tokens -= double(events);
    try {
      for (size_t i = 0; i + 1 < frames.size(); ++i) {
        socket.send(frames[i], zmq::send_flags::sndmore);
      }
      socket.send(zmq::buffer(reply), zmq::send_flags::dontwait);
      events_sent_ += events;
    } catch (const zmq::error_t& e) {
      log->debug("replay: reply failed: {}", e.what());
    }
  }
}

}  // namespace skynet::daemon
