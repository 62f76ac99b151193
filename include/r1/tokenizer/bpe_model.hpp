#pragma once
// BpeModel: the "model" part of an HF tokenizer.json of type BPE (Sennrich et
// al. 2016, "Neural Machine Translation of Rare Words with Subword Units",
// Algorithm 1, applied at encode time): a word starts as one symbol per byte
// (byte-level) or per character, and the adjacent pair of lowest merge rank is
// merged, leftmost first, until no pair has a rank. A binary heap of candidate
// pairs keyed (rank, position) with lazy invalidation makes one word
// O(n log n), so a 10 MB single "word" is not quadratic.
//
// Merges load in both forms tokenizer.json uses: "a b" and ["a", "b"].
#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/core/token_batch.hpp"
#include "r1/tokenizer/byte_level.hpp"
#include "r1/tokenizer/utf8.hpp"

namespace r1 {

// Open-addressing map from a token pair to its merge (rank, merged id).
class MergeTable {
 public:
  struct Merge {
    std::uint32_t rank;
    TokenId merged;
  };

  void reserve(std::size_t count) {
    std::size_t capacity = 16;
    while (capacity < count * 2) capacity *= 2;
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
  }
  // False when the pair is already present (the first rank is kept).
  bool insert(TokenId left, TokenId right, Merge merge) {
    const std::uint64_t key = pack(left, right);
    for (std::size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == empty_key) {
        slots_[i] = {key, merge};
        return true;
      }
      if (slots_[i].key == key) return false;
    }
  }
  const Merge* find(TokenId left, TokenId right) const {
    const std::uint64_t key = pack(left, right);
    for (std::size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return &slots_[i].merge;
      if (slots_[i].key == empty_key) return nullptr;
    }
  }

 private:
  static constexpr std::uint64_t empty_key = ~std::uint64_t{0};
  struct Slot {
    std::uint64_t key = empty_key;
    Merge merge{};
  };
  static std::uint64_t pack(TokenId left, TokenId right) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) | static_cast<std::uint32_t>(right);
  }
  static std::size_t hash(std::uint64_t key) {  // splitmix64 finaliser
    key ^= key >> 30;
    key *= 0xbf58476d1ce4e5b9ULL;
    key ^= key >> 27;
    key *= 0x94d049bb133111ebULL;
    key ^= key >> 31;
    return static_cast<std::size_t>(key);
  }
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
};

class BpeModel {
 public:
  // Scratch memory reused across words (one per thread).
  struct Workspace {
    struct Symbol {
      TokenId id;
      std::int32_t previous;
      std::int32_t next;
      bool alive;
    };
    struct Candidate {
      std::uint32_t rank;
      std::int32_t position;
      TokenId merged;
      bool operator>(const Candidate& other) const {
        return rank != other.rank ? rank > other.rank : position > other.position;
      }
    };
    std::vector<Symbol> symbols;
    std::vector<Candidate> heap;
    std::string spelled;
  };

  // `model` is tokenizer.json's "model" object; `where` names it in errors.
  // `added_token_count` is the length of tokenizer.json's added_tokens list: HF
  // allows gaps in the ids only within the whole vocabulary, so every id is below
  // vocab entries + added tokens. Bounding them so keeps a hostile id (2^31 - 2)
  // from sizing the id table at gigabytes.
  static BpeModel from_json(const Json& model, const std::string& where, std::size_t added_token_count = 0) {
    BpeModel result;
    require(model.is_object(), where, ": expected an object");
    const auto type = json_field_or<std::string>(model, "type", "BPE", where);
    require(type == "BPE", where, ": model type '", type, "' is not supported (expected BPE)");
    const auto empty_or_null = [&](const char* field) {
      return !model.contains(field) || model[field].is_null() || json_field<std::string>(model, field, where).empty();
    };
    require(empty_or_null("continuing_subword_prefix") && empty_or_null("end_of_word_suffix"),
            where, ": continuing_subword_prefix / end_of_word_suffix are not supported");
    const auto flag = [&](const char* field) {
      return model.contains(field) && !model[field].is_null() && json_field<bool>(model, field, where);
    };
    require(!flag("byte_fallback"), where, ": byte_fallback is not supported");
    if (model.contains("dropout") && !model["dropout"].is_null())
      require(model["dropout"].is_number() && model["dropout"].get<double>() == 0.0, where,
              ": BPE dropout is not supported for encoding (expected null or 0)");
    result.ignore_merges_ = flag("ignore_merges");
    result.fuse_unk_ = flag("fuse_unk");

    const Json& vocab = model.contains("vocab") ? model["vocab"] : Json();
    require(vocab.is_object(), where, ".vocab: expected an object {token: id}");
    result.ids_.reserve(vocab.size());
    const auto id_limit = static_cast<std::int64_t>(
        std::min<std::uint64_t>(std::uint64_t{vocab.size()} + added_token_count, (std::uint64_t{1} << 31) - 1));
    for (const auto& [token, id_json] : vocab.items()) {
      const auto id = json_value<std::int64_t>(id_json, where + ".vocab['" + token + "']");
      require(id >= 0 && id < id_limit, where, ".vocab['", token, "']: id ", id, " is outside [0, ", id_limit,
              "): the vocabulary has ", vocab.size(), " entries and ", added_token_count, " added tokens");
      result.ids_.emplace(token, static_cast<TokenId>(id));
      if (static_cast<std::size_t>(id) >= result.tokens_.size()) result.tokens_.resize(static_cast<std::size_t>(id) + 1);
      result.tokens_[static_cast<std::size_t>(id)] = token;
    }

    const Json& merges = model.contains("merges") ? model["merges"] : Json::array();
    require(merges.is_array(), where, ".merges: expected an array");
    result.merges_.reserve(merges.size());
    for (std::size_t rank = 0; rank < merges.size(); ++rank) {
      const Json& merge = merges[rank];
      const std::string here = where + ".merges[" + std::to_string(rank) + "]";
      std::string left, right;
      if (merge.is_string()) {
        const auto& text = merge.get_ref<const std::string&>();
        const auto space = text.find(' ');
        require(space != std::string::npos && text.find(' ', space + 1) == std::string::npos, here, ": '", text,
                "' is not of the form \"left right\"");
        left = text.substr(0, space);
        right = text.substr(space + 1);
      } else {
        require(merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string(), here,
                ": expected \"left right\" or [\"left\", \"right\"]");
        left = merge[0].get<std::string>();
        right = merge[1].get<std::string>();
      }
      const auto left_id = result.token_to_id(left), right_id = result.token_to_id(right),
                 merged_id = result.token_to_id(left + right);
      require(left_id.has_value(), here, ": token '", left, "' is not in the vocabulary");
      require(right_id.has_value(), here, ": token '", right, "' is not in the vocabulary");
      require(merged_id.has_value(), here, ": merged token '", left + right, "' is not in the vocabulary");
      result.merges_.insert(*left_id, *right_id, {static_cast<std::uint32_t>(rank), *merged_id});
    }

    if (model.contains("unk_token") && !model["unk_token"].is_null()) {
      const auto unk = json_field<std::string>(model, "unk_token", where);
      result.unk_ = result.token_to_id(unk);
      require(result.unk_.has_value(), where, ".unk_token '", unk, "' is not in the vocabulary");
    }
    for (int b = 0; b < 256; ++b) {
      std::string spelled;
      utf8::append(spelled, byte_level::byte_to_char()[b]);
      const auto id = result.token_to_id(spelled);
      result.byte_ids_[b] = id ? *id : -1;
    }
    return result;
  }

  std::optional<TokenId> token_to_id(std::string_view token) const {
    const auto found = ids_.find(token);
    if (found == ids_.end()) return std::nullopt;
    return found->second;
  }
  // "" for an id the vocabulary does not use.
  std::string_view id_to_token(TokenId id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= tokens_.size()) return {};
    return tokens_[static_cast<std::size_t>(id)];
  }
  std::int64_t size() const { return static_cast<std::int64_t>(tokens_.size()); }
  // The number of entries in model.vocab (size() is one past the largest id).
  std::size_t entries() const { return ids_.size(); }
  bool covers_all_bytes() const {
    return std::all_of(byte_ids_.begin(), byte_ids_.end(), [](TokenId id) { return id >= 0; });
  }

  // Appends the ids of one pre-tokenized word. byte_level: `word` is raw bytes
  // (any bytes, valid UTF-8 or not) spelled through the byte-level alphabet;
  // otherwise `word` is UTF-8 and each character starts as one symbol.
  void encode_word(std::string_view word, bool byte_level, std::vector<TokenId>& out, Workspace& work) const {
    if (word.empty()) return;
    const std::size_t word_start = out.size();
    if (byte_level && word.size() == 1) {
      push_symbol(byte_ids_[static_cast<std::uint8_t>(word[0])], out, word_start);
      return;
    }
    if (ignore_merges_) {  // HF: a word that is a whole token is taken as is
      const std::string_view spelled = byte_level ? spell(word, work) : word;
      if (const auto id = token_to_id(spelled)) {
        out.push_back(*id);
        return;
      }
    }
    auto& symbols = work.symbols;
    symbols.clear();
    if (byte_level) {
      for (const char ch : word) add_symbol(byte_ids_[static_cast<std::uint8_t>(ch)], symbols);
    } else {
      for (std::size_t position = 0; position < word.size();) {
        const utf8::Step step = utf8::next(word, position);
        const auto id = token_to_id(word.substr(position, step.length));
        add_symbol(id ? *id : -1, symbols);
        position += step.length;
      }
    }
    merge(work);
    for (const auto& symbol : symbols)
      if (symbol.alive) push_symbol(symbol.id, out, word_start);
  }

 private:
  static void add_symbol(TokenId id, std::vector<Workspace::Symbol>& symbols) {
    const auto index = static_cast<std::int32_t>(symbols.size());
    symbols.push_back({id, index - 1, -1, true});
    if (index > 0) symbols[static_cast<std::size_t>(index) - 1].next = index;
  }
  // A symbol outside the vocabulary becomes unk_token, or is dropped when there is none (as HF
  // does); fuse_unk joins consecutive unknowns of one word.
  void push_symbol(TokenId id, std::vector<TokenId>& out, std::size_t word_start) const {
    if (id >= 0) {
      out.push_back(id);
    } else if (unk_) {
      if (!(fuse_unk_ && out.size() > word_start && out.back() == *unk_)) out.push_back(*unk_);
    }
  }
  std::string_view spell(std::string_view bytes, Workspace& work) const {
    work.spelled.clear();
    for (const char ch : bytes) utf8::append(work.spelled, byte_level::byte_to_char()[static_cast<std::uint8_t>(ch)]);
    return work.spelled;
  }

  void merge(Workspace& work) const {
    auto& symbols = work.symbols;
    auto& heap = work.heap;
    heap.clear();
    const auto greater = std::greater<Workspace::Candidate>();
    const auto consider = [&](std::int32_t position) {
      const auto& left = symbols[static_cast<std::size_t>(position)];
      if (left.next < 0 || left.id < 0) return;
      const TokenId right_id = symbols[static_cast<std::size_t>(left.next)].id;
      if (right_id < 0) return;
      if (const auto* found = merges_.find(left.id, right_id)) {
        heap.push_back({found->rank, position, found->merged});
        std::push_heap(heap.begin(), heap.end(), greater);
      }
    };
    for (std::int32_t i = 0; i + 1 < static_cast<std::int32_t>(symbols.size()); ++i) consider(i);
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), greater);
      const Workspace::Candidate top = heap.back();
      heap.pop_back();
      auto& left = symbols[static_cast<std::size_t>(top.position)];
      if (!left.alive || left.next < 0) continue;
      auto& right = symbols[static_cast<std::size_t>(left.next)];
      // Stale candidate: one side has been merged since it was pushed.
      const auto* current = merges_.find(left.id, right.id);
      if (current == nullptr || current->merged != top.merged || current->rank != top.rank) continue;
      left.id = top.merged;
      right.alive = false;
      left.next = right.next;
      if (right.next >= 0) symbols[static_cast<std::size_t>(right.next)].previous = top.position;
      if (left.previous >= 0) consider(left.previous);
      consider(top.position);
    }
  }

  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>> ids_;
  std::vector<std::string> tokens_;
  MergeTable merges_;
  std::array<TokenId, 256> byte_ids_{};
  std::optional<TokenId> unk_;
  bool ignore_merges_ = false;
  bool fuse_unk_ = false;
};

}  // namespace r1
