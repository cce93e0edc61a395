// SPDX-License-Identifier: Apache-2.0
// The model lifecycle: save -> load round trips for every recipe (bitwise identical answers),
// damaged / truncated / mismatched model directories, and batch inference output.
#include <recsys/data/synthetic.hpp>
#include <recsys/detail/recipe_model.hpp>
#include <recsys/io/batch.hpp>
#include <recsys/io/model_store-inl.hpp>  // detail::crc32 / hex32 to forge damaged files
#include <recsys/models/bpr.hpp>
#include <recsys/recipes.hpp>

#include "recsys_test.hpp"

#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

recsys::interaction_log small_log() {
  recsys::synthetic_config c;
  c.num_users = 300;
  c.num_items = 200;
  c.num_interactions = 9000;
  c.num_clusters = 6;
  c.time_span_days = 30;
  c.seed = recsys::test::seed();
  c.num_threads = 1;
  return recsys::generate_interactions(c);
}

const recsys::interaction_log& data() {
  static const recsys::interaction_log log = small_log();
  return log;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

bool same_bits(const recsys::topk_result& a, const recsys::topk_result& b) {
  return a.ids == b.ids && same_bits(a.scores, b.scores);
}

// Every query of `a` and `b` answers bit for bit the same.
void check_same_answers(const recsys::model& a, const recsys::model& b) {
  using recsys::index_t;
  REQUIRE(a.recipe() == b.recipe());
  CHECK(a.params() == b.params());
  REQUIRE(a.num_users() == b.num_users());
  REQUIRE(a.num_items() == b.num_items());
  CHECK(a.user_ids().ids() == b.user_ids().ids());
  CHECK(a.item_ids().ids() == b.item_ids().ids());
  CHECK(a.training().events == b.training().events);
  CHECK(a.training().active_users == b.training().active_users);
  CHECK(a.training().last_timestamp == b.training().last_timestamp);
  CHECK(a.training().event_types == b.training().event_types);
  CHECK(a.training().fit_seconds == b.training().fit_seconds);

  std::vector<index_t> all_items;
  for (index_t i = -1; i <= a.num_items(); ++i) all_items.push_back(i);
  recsys::recommend_options keep_seen;
  keep_seen.exclude_seen = false;
  int mismatches = 0;
  for (index_t u = -1; u <= a.num_users() + 3; ++u) {
    if (!same_bits(a.recommend(u, 20), b.recommend(u, 20))) ++mismatches;
    if (!same_bits(a.recommend(u, 7, keep_seen), b.recommend(u, 7, keep_seen))) ++mismatches;
    if (!same_bits(a.score(u, all_items), b.score(u, all_items))) ++mismatches;
  }
  CHECK(mismatches == 0);

  std::vector<index_t> users(static_cast<std::size_t>(a.num_users()));
  for (index_t u = 0; u < a.num_users(); ++u) users[static_cast<std::size_t>(u)] = u;
  std::vector<index_t> ia(users.size() * 10), ib(ia.size());
  std::vector<recsys::score_t> sa(ia.size()), sb(ia.size());
  a.recommend_batch(users, 10, ia.data(), sa.data());
  b.recommend_batch(users, 10, ib.data(), sb.data());
  CHECK(ia == ib);
  CHECK(same_bits(sa, sb));

  REQUIRE(a.supports_history() == b.supports_history());
  if (a.supports_history()) {
    const std::vector<index_t> history = {3, 17, 42, 5};
    const std::vector<recsys::score_t> weights = {1.0f, 0.5f, 2.0f, 1.0f};
    CHECK(same_bits(a.recommend_for_history(history, weights, 15), b.recommend_for_history(history, weights, 15)));
    CHECK(same_bits(a.recommend_for_history(history, {}, 15), b.recommend_for_history(history, {}, 15)));
  }
  REQUIRE(a.supports_similar_items() == b.supports_similar_items());
  if (a.supports_similar_items())
    for (index_t i : {0, 1, 50, 199}) CHECK(same_bits(a.similar_items(i, 10), b.similar_items(i, 10)));
  REQUIRE(a.supports_user_segments() == b.supports_user_segments());
  if (a.supports_user_segments()) {
    std::vector<index_t> ua(all_items.size() * 12), ub(ua.size());
    std::vector<recsys::score_t> ta(ua.size()), tb(ua.size());
    a.recommend_users(all_items, 12, ua.data(), ta.data());
    b.recommend_users(all_items, 12, ub.data(), tb.data());
    CHECK(ua == ub);
    CHECK(same_bits(ta, tb));
  }
}

// The hyperparameters each recipe is round-tripped with: the defaults and a variant that
// exercises the saved config (time windows, recency, cross-occurrence, popularity sampling).
std::vector<recsys::param_map> variants(const std::string& recipe) {
  if (recipe == "popularity") return {{}, {{"last_days", "7"}, {"distinct_users", "false"}}};
  if (recipe == "trending") return {{}, {{"window", "1d"}, {"smoothing", "2.5"}}};
  if (recipe == "item-knn")
    return {{},
            {{"recency_half_life", "7d"},
             {"event_types", "view,click"},
             {"cross_event_types", "purchase"},
             {"exclude_event_types", "purchase"}}};
  if (recipe == "sims") return {{}};
  if (recipe == "bpr" || recipe == "warp")
    return {{{"epochs", "4"}, {"factors", "16"}, {"num_threads", "2"}},
            {{"epochs", "3"}, {"factors", "8"}, {"sample_alpha", "0.5"}, {"item_bias", "false"}}};
  if (recipe == "als")
    return {{{"factors", "8"}, {"iterations", "3"}},
            {{"factors", "6"}, {"iterations", "2"}, {"solver", "cholesky"}, {"confidence", "linear"}}};
  if (recipe == "gru4rec")
    return {{{"epochs", "1"}, {"layers", "16"}, {"n_sample", "32"}},
            {{"epochs", "1"}, {"layers", "8/8"}, {"loss", "bpr-max"}, {"constrained_embedding", "false"},
             {"embedding", "6"}, {"n_sample", "16"}}};
  return {{}};
}

fs::path fresh_dir(const std::string& name) { return recsys::test::scratch_dir("lifecycle-" + name); }

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

void spit(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Replaces a file of the model and updates its manifest entry (bytes, CRC-32, shape) so that
// only the content is inconsistent, not the checksums.
void replace_entry(const fs::path& dir, const std::string& name, const std::string& file, const std::string& bytes,
                   const std::string& shape) {
  spit(dir / file, bytes);
  std::string m = slurp(dir / "manifest.json");
  const std::regex entry("(\"" + name + "\": \\{[^}]*?\"shape\": )\\[[^\\]]*\\]([^}]*?\"bytes\": )[0-9]+([^}]*?\"crc32\": \")[0-9a-f]{8}\"");
  std::smatch hit;
  REQUIRE(std::regex_search(m, hit, entry));
  const std::string replacement = hit.str(1) + shape + hit.str(2) + std::to_string(bytes.size()) + hit.str(3) +
                                  recsys::detail::hex32(recsys::detail::crc32(bytes)) + "\"";
  m.replace(static_cast<std::size_t>(hit.position(0)), static_cast<std::size_t>(hit.length(0)), replacement);
  spit(dir / "manifest.json", m);
}

// Edits manifest.json with a plain text substitution (which must occur).
void edit_manifest(const fs::path& dir, const std::string& from, const std::string& to) {
  std::string m = slurp(dir / "manifest.json");
  const auto at = m.find(from);
  REQUIRE(at != std::string::npos);
  m.replace(at, from.size(), to);
  spit(dir / "manifest.json", m);
}

template <class T>
std::string npy(const std::vector<T>& data, std::vector<std::int64_t> shape) {
  return recsys::detail::npy_bytes(data.data(), std::span<const std::int64_t>(shape));
}

void expect_load_error(const fs::path& dir, const std::string& file, const std::string& reason) {
  INFO("expecting an io_error naming " << file << " with '" << reason << "'");
  try {
    (void)recsys::load_model(dir);
    FAIL("load_model accepted a damaged model");
  } catch (const recsys::io_error& e) {
    INFO("message: " << e.what());
    CHECK(e.file().find(file) != std::string::npos);
    CHECK(std::string(e.what()).find(reason) != std::string::npos);
  }
}

// A saved model of `recipe`, copied afresh for each damage case.
struct saved_model {
  fs::path original;
  std::unique_ptr<recsys::model> model;
  saved_model(const std::string& recipe, const recsys::param_map& params) {
    model = recsys::make_model(recipe, params);
    model->fit(data());
    original = fresh_dir("orig-" + recipe) / "model";
    model->save(original);
  }
  fs::path copy(const std::string& tag) const {
    const fs::path dir = fresh_dir("damaged-" + tag) / "model";
    fs::copy(original, dir, fs::copy_options::recursive);
    return dir;
  }
};

}  // namespace

TEST_CASE("every recipe saved and loaded answers every query bit for bit as before", "[lifecycle]") {
  for (const auto& r : recsys::recipes()) {
    for (const auto& params : variants(r.name)) {
      INFO("recipe " << r.name << " with " << params.size() << " parameters set");
      auto trained = r.make(params);
      trained->fit(data());
      const fs::path dir = fresh_dir("roundtrip-" + r.name) / "model";
      trained->save(dir);
      CHECK(fs::exists(dir / "manifest.json"));
      CHECK(fs::exists(dir / "user_ids.json"));
      CHECK(fs::exists(dir / "item_ids.json"));
      const auto loaded = recsys::load_model(dir);
      CHECK(loaded->is_fitted());
      check_same_answers(*trained, *loaded);
      // saving the loaded model gives an equivalent model again
      const fs::path again = fresh_dir("roundtrip2-" + r.name) / "model";
      loaded->save(again);
      check_same_answers(*trained, *recsys::load_model(again, r.name));
      // the id maps answer external ids
      const auto u = loaded->user_ids().find(data().user_ids.id(5));
      REQUIRE(u);
      CHECK(same_bits(loaded->recommend(*u, 10), trained->recommend(5, 10)));
    }
  }
}

TEST_CASE("a loaded model is the same model type with the saved configuration", "[lifecycle]") {
  auto m = recsys::make_model("bpr", {{"epochs", "3"}, {"factors", "8"}, {"sample_alpha", "0.5"}});
  m->fit(data());
  const fs::path dir = fresh_dir("typed") / "model";
  m->save(dir);
  auto loaded = recsys::load_model(dir);
  using wrapper = recsys::detail::recipe_model<recsys::bpr_model, recsys::bpr_config, recsys::detail::fit_on_matrix>;
  const auto* typed = dynamic_cast<const wrapper*>(loaded.get());
  REQUIRE(typed != nullptr);
  CHECK(typed->get().config().factors == 8);
  CHECK(typed->get().config().sample_alpha == 0.5f);
  CHECK(typed->get().history().size() == 3);
  CHECK(typed->get().history().back().auc ==
        dynamic_cast<const wrapper*>(m.get())->get().history().back().auc);
  // numpy can open the arrays: a plain .npy with the documented shape
  const auto uf = recsys::read_npy<float>(dir / "user_factors.npy");
  CHECK(uf.shape == std::vector<std::int64_t>{data().num_users(), 8});
}

TEST_CASE("models save only when fitted and a failed load leaves the model unchanged", "[lifecycle]") {
  auto m = recsys::make_model("popularity");
  CHECK_FALSE(m->is_fitted());
  CHECK_THROWS_AS(m->save(fresh_dir("unfitted") / "model"), recsys::invalid_argument);
  CHECK_FALSE(fs::exists(fresh_dir("unfitted") / "model"));

  // a cancelled fit leaves a wrapper that refuses to save
  auto bpr = recsys::make_model("bpr", {{"epochs", "3"}, {"factors", "8"}});
  bpr->fit(data());
  recsys::job_control job;
  job.cancel.cancel();
  CHECK_THROWS_AS(bpr->fit(data(), job), recsys::cancelled);
  CHECK_FALSE(bpr->is_fitted());
  CHECK_THROWS_AS(bpr->save(fresh_dir("cancelled") / "model"), recsys::invalid_argument);

  // loading a damaged directory into a fitted model keeps the fitted state
  saved_model good("item-knn", {});
  auto target = recsys::make_model("item-knn");
  target->fit(data());
  const auto before = target->recommend(3, 10);
  const fs::path bad = good.copy("keep");
  edit_manifest(bad, "\"format_version\": 1", "\"format_version\": 7");
  const fs::path bad2 = good.copy("keep2");
  spit(bad2 / "neighbours_data.npy", "garbage");
  CHECK_THROWS_AS(target->load(recsys::model_reader(bad)), recsys::io_error);
  CHECK_THROWS_AS(target->load(recsys::model_reader(bad2)), recsys::io_error);
  CHECK(target->recommend(3, 10) == before);
  CHECK(target->is_fitted());
  // a reader of another recipe is refused
  saved_model pop("popularity", {});
  CHECK_THROWS_AS(target->load(recsys::model_reader(pop.original)), recsys::io_error);
  CHECK(target->recommend(3, 10) == before);
}

TEST_CASE("damaged model files give an io_error naming the file and the problem", "[lifecycle]") {
  const saved_model bpr("bpr", {{"epochs", "2"}, {"factors", "8"}});
  const auto users = data().num_users(), items = data().num_items();

  SECTION("not a directory, no manifest, manifest not JSON") {
    expect_load_error(bpr.original.parent_path() / "absent", "absent", "not a model directory");
    auto d = bpr.copy("nomanifest");
    fs::remove(d / "manifest.json");
    expect_load_error(d, "manifest.json", "");
    d = bpr.copy("json");
    spit(d / "manifest.json", "{\"format\": \"recsys-model\",");
    expect_load_error(d, "manifest.json", "");
  }
  SECTION("truncated, corrupted and missing array files") {
    auto d = bpr.copy("truncated");
    std::string f = slurp(d / "user_factors.npy");
    spit(d / "user_factors.npy", f.substr(0, f.size() - 5));
    expect_load_error(d, "user_factors.npy", "truncated");
    d = bpr.copy("corrupted");
    f = slurp(d / "item_factors.npy");
    f[f.size() - 3] ^= 0x20;
    spit(d / "item_factors.npy", f);
    expect_load_error(d, "item_factors.npy", "checksum");
    d = bpr.copy("missing");
    fs::remove(d / "seen_indices.npy");
    expect_load_error(d, "seen_indices.npy", "missing");
    d = bpr.copy("ids-truncated");
    f = slurp(d / "item_ids.json");
    spit(d / "item_ids.json", f.substr(0, f.size() / 2));
    expect_load_error(d, "item_ids.json", "truncated");
  }
  SECTION("manifest fields: format, version, recipe, parameters, config, model type, data summary") {
    auto d = bpr.copy("format");
    edit_manifest(d, "\"format\": \"recsys-model\"", "\"format\": \"other\"");
    expect_load_error(d, "manifest.json", "format");
    d = bpr.copy("version");
    edit_manifest(d, "\"format_version\": 1", "\"format_version\": 2");
    expect_load_error(d, "manifest.json", "format_version 2 is not supported");
    d = bpr.copy("unknown-recipe");
    edit_manifest(d, "\"recipe\": \"bpr\"", "\"recipe\": \"deep-magic\"");
    expect_load_error(d, "manifest.json", "names recipe 'deep-magic'");
    d = bpr.copy("other-recipe");
    edit_manifest(d, "\"recipe\": \"bpr\"", "\"recipe\": \"warp\"");
    expect_load_error(d, "manifest.json", "holds a 'bpr_model' model state, expected 'warp_model'");
    try {
      (void)recsys::load_model(bpr.original, "popularity");
      FAIL("wrong expected recipe accepted");
    } catch (const recsys::io_error& e) {
      CHECK(std::string(e.what()).find("expected 'popularity'") != std::string::npos);
    }
    d = bpr.copy("params");
    edit_manifest(d, "\"factors\": \"8\"", "\"factors\": \"eight\"");
    expect_load_error(d, "manifest.json", "bad hyperparameters");
    d = bpr.copy("config");
    // the second occurrence of "factors": "8" is the model's own config
    std::string m = slurp(d / "manifest.json");
    const auto first = m.find("\"factors\": \"8\"");
    const auto second = m.find("\"factors\": \"8\"", first + 1);
    REQUIRE(second != std::string::npos);
    m.replace(second, 14, "\"factors\": \"9\"");
    spit(d / "manifest.json", m);
    expect_load_error(d, "item_factors.npy", "the config says 9");
    d = bpr.copy("no-config");
    edit_manifest(d, "\"config\":", "\"konfig\":");
    expect_load_error(d, "manifest.json", "no field 'config'");
    d = bpr.copy("model-type");
    edit_manifest(d, "\"model\": \"bpr_model\"", "\"model\": \"als_model\"");
    expect_load_error(d, "manifest.json", "holds a 'als_model' model state");
    d = bpr.copy("summary");
    edit_manifest(d, "\"users\": " + std::to_string(users), "\"users\": " + std::to_string(users + 1));
    expect_load_error(d, "manifest.json", "data summary says");
    d = bpr.copy("no-summary");
    edit_manifest(d, "\"data\":", "\"dada\":");
    expect_load_error(d, "manifest.json", "no field 'data'");
    d = bpr.copy("entry-name");
    edit_manifest(d, "\"file\": \"user_factors.npy\"", "\"file\": \"../user_factors.npy\"");
    expect_load_error(d, "manifest.json", "invalid file");
    d = bpr.copy("declared-shape");
    const std::regex shape("(\"user_factors\": \\{[^}]*?\"shape\": \\[\\s*)[0-9]+");
    spit(d / "manifest.json", std::regex_replace(slurp(d / "manifest.json"), shape, "$017"));
    expect_load_error(d, "user_factors.npy", "shape differs");
  }
  SECTION("arrays whose shapes disagree with each other or with the id maps") {
    auto d = bpr.copy("fewer-user-ids");
    std::string ids = "[";
    for (recsys::index_t u = 0; u + 1 < users; ++u) ids += (u ? ",\"" : "\"") + data().user_ids.id(u) + "\"";
    ids += "]";
    replace_entry(d, "user_ids", "user_ids.json", ids, "[" + std::to_string(users - 1) + "]");
    expect_load_error(d, "user_ids.json", "the model needs " + std::to_string(users));
    d = bpr.copy("duplicate-ids");
    std::string dup = "[";
    for (recsys::index_t i = 0; i < items; ++i) dup += (i ? ",\"" : "\"") + data().item_ids.id(i == 1 ? 0 : i) + "\"";
    dup += "]";
    replace_entry(d, "item_ids", "item_ids.json", dup, "[" + std::to_string(items) + "]");
    expect_load_error(d, "item_ids.json", "duplicate id");
    d = bpr.copy("short-factors");
    const std::vector<float> few(static_cast<std::size_t>(users - 1) * 8, 0.5f);
    replace_entry(d, "user_factors", "user_factors.npy", npy(few, {users - 1, 8}),
                  "[" + std::to_string(users - 1) + ", 8]");
    expect_load_error(d, "user_factors.npy", "rows");
    d = bpr.copy("factor-width");
    const std::vector<float> wide(static_cast<std::size_t>(items) * 9, 0.5f);
    replace_entry(d, "item_factors", "item_factors.npy", npy(wide, {items, 9}), "[" + std::to_string(items) + ", 9]");
    expect_load_error(d, "item_factors.npy", "does not match");
    d = bpr.copy("bias");
    const std::vector<float> bias(static_cast<std::size_t>(items) + 2, 0.0f);
    replace_entry(d, "item_bias", "item_bias.npy", npy(bias, {items + 2}), "[" + std::to_string(items + 2) + "]");
    expect_load_error(d, "item_bias.npy", "entries");
    d = bpr.copy("dtype");
    const std::vector<double> wide_type(static_cast<std::size_t>(items), 0.0);
    replace_entry(d, "item_bias", "item_bias.npy", npy(wide_type, {items}), "[" + std::to_string(items) + "]");
    expect_load_error(d, "item_bias.npy", "element type");
    d = bpr.copy("nan");
    std::vector<float> nan_bias(static_cast<std::size_t>(items), 0.0f);
    nan_bias[3] = std::numeric_limits<float>::quiet_NaN();
    replace_entry(d, "item_bias", "item_bias.npy", npy(nan_bias, {items}), "[" + std::to_string(items) + "]");
    expect_load_error(d, "item_bias.npy", "non-finite");
  }
  SECTION("baseline and neighbour models check their own arrays") {
    const saved_model pop("popularity", {});
    auto d = pop.copy("counts");
    const std::vector<float> counts(static_cast<std::size_t>(items) + 1, 1.0f);
    replace_entry(d, "counts", "counts.npy", npy(counts, {items + 1}), "[" + std::to_string(items + 1) + "]");
    expect_load_error(d, "seen_data.npy", "columns");
    d = pop.copy("seen-values");
    const auto n = static_cast<std::size_t>(recsys::read_npy<float>(d / "seen_data.npy").size());
    std::vector<float> twos(n, 2.0f);
    replace_entry(d, "seen_data", "seen_data.npy", npy(twos, {static_cast<std::int64_t>(n)}), "[" + std::to_string(n) + "]");
    expect_load_error(d, "seen_data.npy", "must all be 1");

    const saved_model trending("trending", {});
    d = trending.copy("trending-state");
    edit_manifest(d, "\"reference_time\":", "\"reference\":");
    expect_load_error(d, "manifest.json", "reference_time");

    const saved_model knn("item-knn", {});
    d = knn.copy("history-rows");
    const std::vector<std::int64_t> ptr = {0};
    replace_entry(d, "history_indptr", "history_indptr.npy", npy(ptr, {1}), "[1]");
    expect_load_error(d, "history_indptr.npy", "");
    d = knn.copy("neighbours-shape");
    edit_manifest(d, "\"neighbours_shape\": [", "\"neighbours_shape\": [\n    1,");
    expect_load_error(d, "manifest.json", "neighbours_shape");
    d = knn.copy("knn-config");
    edit_manifest(d, "\"similarity\": \"cosine\"", "\"similarity\": \"telepathy\"");
    expect_load_error(d, "manifest.json", "similarity");
  }
}

TEST_CASE("saving over an existing model replaces it whole and never leaves temporaries", "[lifecycle]") {
  const fs::path base = fresh_dir("replace");
  auto a = recsys::make_model("popularity");
  a->fit(data());
  a->save(base / "model");
  auto b = recsys::make_model("bpr", {{"epochs", "2"}, {"factors", "8"}});
  b->fit(data());
  b->save(base / "model");
  CHECK(recsys::load_model(base / "model")->recipe() == "bpr");
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(base)) names.insert(e.path().filename().string());
  CHECK(names == std::set<std::string>{"model"});
  CHECK_FALSE(fs::exists(base / "model" / "counts.npy"));  // nothing of the old model survives
}

TEST_CASE("models saved by recsys 0.1.0 still load and answer as they did", "[lifecycle]") {
  // tests/fixtures/models-0.1.0: one model per recipe written by the first release, and what it
  // answered then (see the README there). A change of the format or of a recipe's queries that
  // breaks users' saved models fails here.
  const fs::path dir = fs::path(RECSYS_SOURCE_DIR) / "tests" / "fixtures" / "models-0.1.0";
  std::ifstream expected(dir / "expected.txt");
  REQUIRE(expected);
  struct row {
    std::string item;
    float score;
  };
  std::map<std::pair<std::string, std::string>, std::vector<row>> want;
  std::string recipe, user, item;
  int rank = 0;
  float score = 0;
  while (expected >> recipe >> user >> rank >> item >> score) want[{recipe, user}].push_back({item, score});
  REQUIRE(want.size() == 32);  // 8 recipes x 4 users
  std::set<std::string> recipes_seen;
  for (const auto& [key, rows] : want) {
    const auto& [name, who] = key;
    INFO(name << " " << who);
    const auto m = recsys::load_model(dir / name, name);
    recipes_seen.insert(name);
    const auto u = m->user_ids().find(who);
    CHECK(u.has_value() == (who != "nobody"));
    const recsys::topk_result top = m->recommend(u.value_or(recsys::invalid_index), 5);
    REQUIRE(top.size() == rows.size());
    // The same answers; scores up to the last bits (the fixture's tool was built with other
    // instruction-set flags than this test, so its dot products summed in another order), and
    // items swapped only inside such a near tie.
    for (std::size_t j = 0; j < rows.size(); ++j) {
      CHECK(top.scores[j] == recsys::test::Approx(rows[j].score).epsilon(1e-5).margin(1e-6));
      const bool near_tie = (j > 0 && std::abs(rows[j - 1].score - rows[j].score) < 1e-5f) ||
                            (j + 1 < rows.size() && std::abs(rows[j + 1].score - rows[j].score) < 1e-5f);
      if (!near_tie) CHECK(m->item_ids().id(top.ids[j]) == rows[j].item);
    }
  }
  for (const auto& r : recsys::recipes()) CHECK(recipes_seen.count(r.name) == 1);
}

namespace {

// Every entry under `dir`, as paths relative to it (sorted).
std::set<std::string> tree_of(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(dir)) names.insert(fs::relative(e.path(), dir).generic_string());
  return names;
}

// Runs `f` with the working directory set to `dir`, restoring it afterwards.
template <class F>
void in_directory(const fs::path& dir, F&& f) {
  const fs::path old = fs::current_path();
  fs::current_path(dir);
  try {
    f();
  } catch (...) {
    fs::current_path(old);
    throw;
  }
  fs::current_path(old);
}

}  // namespace

TEST_CASE("a model directory can be spelled any way: trailing slash, ./, absolute, symlinked parent", "[lifecycle]") {
  const fs::path base = fs::canonical(fresh_dir("spellings"));
  fs::create_directories(base / "real");
  fs::create_directory_symlink(base / "real", base / "link");
  auto a = recsys::make_model("popularity");
  a->fit(data());
  auto b = recsys::make_model("bpr", {{"epochs", "2"}, {"factors", "8"}});
  b->fit(data());
  const recsys::topk_result want_a = a->recommend(3, 5), want_b = b->recommend(3, 5);
  // (spelling to save with, spelling to load with, where the model must end up)
  const std::vector<std::array<std::string, 3>> cases = {
      {"model/", "model/", "model"},
      {"model", "./model/", "model"},
      {"./model", "model", "model"},
      {(base / "model").string() + "/", (base / "model").string(), "model"},
      {"link/m2/", "link/m2", "real/m2"},
      {(base / "link" / "m2").string(), "real/m2/", "real/m2"},
      {"new/deep/m3/", "new/deep/m3", "new/deep/m3"},
      {"sub/../model/", "model", "model"},
  };
  in_directory(base, [&] {
    for (const auto& [save_as, load_as, where] : cases) {
      INFO("save " << save_as << ", load " << load_as);
      // Twice each way: the first save creates the directory, the second replaces it; the
      // second is the other recipe, so the load proves which one is there.
      a->save(save_as);
      CHECK(recsys::load_model(load_as)->recommend(3, 5).ids == want_a.ids);
      b->save(save_as);
      const auto loaded = recsys::load_model(load_as);
      CHECK(loaded->recipe() == "bpr");
      CHECK(loaded->recommend(3, 5).scores == want_b.scores);
      CHECK(recsys::load_model(base / where)->recipe() == "bpr");
    }
  });
  // Nothing but the models themselves: no temporaries, no moved-aside copies.
  for (const auto& name : tree_of(base)) {
    INFO(name);
    CHECK(name.find(".tmp-") == std::string::npos);
    CHECK(name.find(".old-") == std::string::npos);
  }
  CHECK(fs::is_symlink(base / "link"));  // the link itself is left alone
}

TEST_CASE("a failed save leaves nothing behind and never replaces what is not a model", "[lifecycle]") {
  const fs::path base = fs::canonical(fresh_dir("failed-save"));
  const std::vector<float> v{1.0f, 2.0f};
  {  // an error between construction and commit: the temporary and the parents it created go
    recsys::model_writer w(base / "new" / "deep" / "model", "x");
    w.add_vector("v", v);
    CHECK_THROWS_AS(w.add_vector("bad name", v), recsys::invalid_argument);
  }
  CHECK(tree_of(base).empty());
  {  // a parent that is a file: nothing can be created
    std::ofstream(base / "file.txt") << "data\n";
    CHECK(recsys::test::io_error_of([&] { recsys::model_writer w(base / "file.txt" / "model", "x"); }).has_value());
    CHECK(tree_of(base) == std::set<std::string>{"file.txt"});
  }
  // A file, or a folder holding something that is not a model, is never replaced: a mistyped
  // --save must not delete data. The check runs before any work (check_model_target) and again
  // at commit.
  fs::create_directories(base / "photos");
  std::ofstream(base / "photos" / "cat.jpg") << "meow";
  for (const fs::path& target : {base / "file.txt", base / "photos"}) {
    INFO(target);
    const auto early = recsys::test::io_error_of([&] { recsys::check_model_target(target); });
    REQUIRE(early.has_value());
    CHECK(std::string(early->what()).find("refusing to replace") != std::string::npos);
    const auto late = recsys::test::io_error_of([&] {
      recsys::model_writer w(target, "x");
      w.add_vector("v", v);
      w.commit();
    });
    REQUIRE(late.has_value());
    CHECK(std::string(late->what()).find(target.filename().string()) != std::string::npos);
  }
  CHECK(tree_of(base) == std::set<std::string>{"file.txt", "photos", "photos/cat.jpg"});
  // An empty folder, or one holding a model, may be replaced.
  fs::create_directories(base / "empty");
  CHECK_NOTHROW(recsys::check_model_target(base / "empty"));
  CHECK_NOTHROW(recsys::check_model_target(base / "not-yet"));
  CHECK_NOTHROW(recsys::check_model_target(base / "not" / "yet" / "either"));
  const auto under_file = recsys::test::io_error_of([&] { recsys::check_model_target(base / "file.txt" / "m"); });
  REQUIRE(under_file.has_value());
  CHECK(std::string(under_file->what()).find("file.txt is not a directory") != std::string::npos);
  CHECK(recsys::test::error_of([] { recsys::check_model_target("/"); }).find("names no directory") != std::string::npos);
  CHECK(recsys::test::error_of([] { recsys::check_model_target(""); }).find("empty directory name") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Batch inference

namespace {

struct csv_row {
  std::string input, result;
  int rank;
  float score;
};

std::vector<csv_row> read_csv_rows(const fs::path& p) {
  std::istringstream in(slurp(p));
  std::string line;
  std::getline(in, line);
  std::vector<csv_row> rows;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    csv_row r;
    std::string rank, score;
    std::getline(f, r.input, ',');
    std::getline(f, rank, ',');
    std::getline(f, r.result, ',');
    std::getline(f, score, ',');
    r.rank = std::stoi(rank);
    r.score = std::strtof(score.c_str(), nullptr);
    rows.push_back(r);
  }
  return rows;
}

// The lists of a JSON Lines batch output: input id -> (result ids, scores, error).
struct jsonl_record {
  std::vector<std::string> results;
  std::vector<float> scores;
  bool has_error = false;
};

std::vector<std::pair<std::string, jsonl_record>> read_jsonl(const fs::path& p, const std::string& in_key,
                                                             const std::string& out_key) {
  std::istringstream in(slurp(p));
  std::string line;
  std::vector<std::pair<std::string, jsonl_record>> out;
  while (std::getline(in, line)) {
    const auto v = recsys::detail::json::parse(line);
    jsonl_record r;
    for (const auto& id : v.at("output").at(out_key).as_array("")) r.results.push_back(id.as_string(""));
    for (const auto& s : v.at("output").at("scores").as_array("")) r.scores.push_back(static_cast<float>(s.as_double("")));
    r.has_error = !v.at("error").is_null();
    out.emplace_back(v.at("input").at(in_key).as_string(""), r);
  }
  return out;
}

// Lists equal, except that entries within a near-tie may swap (the batch path of factor models
// sums in GEMM order: scores may differ in the last bit).
void check_list(const std::vector<std::string>& ids, const std::vector<float>& scores, const recsys::topk_result& ref,
                const recsys::id_map<std::string>& names, bool exact) {
  REQUIRE(ids.size() == ref.size());
  for (std::size_t j = 0; j < ids.size(); ++j) {
    if (exact) {
      CHECK(ids[j] == names.id(ref.ids[j]));
      CHECK(scores[j] == ref.scores[j]);
      continue;
    }
    CHECK(scores[j] == recsys::test::Approx(ref.scores[j]).epsilon(1e-5).margin(1e-6));
    const bool near_tie = (j > 0 && std::abs(ref.scores[j - 1] - ref.scores[j]) < 1e-4f) ||
                          (j + 1 < ids.size() && std::abs(ref.scores[j + 1] - ref.scores[j]) < 1e-4f);
    if (!near_tie) CHECK(ids[j] == names.id(ref.ids[j]));
  }
}

}  // namespace

TEST_CASE("batch output equals per-user recommend for every recipe in both formats", "[batch]") {
  for (const auto& r : recsys::recipes()) {
    INFO("recipe " << r.name);
    auto m = r.make(variants(r.name).front());
    m->fit(data());
    const bool exact = r.name != "bpr" && r.name != "warp" && r.name != "als";  // factor models: blocked GEMM
    const fs::path dir = fresh_dir("batch-" + r.name);
    recsys::batch_options o;
    o.k = 12;
    o.block_size = 37;  // several blocks, the last one partial
    const auto rep = recsys::batch_recommend(*m, dir / "out.jsonl", o);
    CHECK(rep.inputs == m->num_users());
    CHECK(rep.unknown == 0);
    CHECK(rep.bytes == static_cast<std::int64_t>(fs::file_size(dir / "out.jsonl")));
    const auto lines = read_jsonl(dir / "out.jsonl", "userId", "recommendedItems");
    REQUIRE(lines.size() == static_cast<std::size_t>(m->num_users()));
    std::int64_t results = 0;
    for (recsys::index_t u = 0; u < m->num_users(); ++u) {
      const auto& [id, rec] = lines[static_cast<std::size_t>(u)];
      CHECK(id == m->user_ids().id(u));
      CHECK_FALSE(rec.has_error);
      check_list(rec.results, rec.scores, m->recommend(u, 12), m->item_ids(), exact);
      results += static_cast<std::int64_t>(rec.results.size());
    }
    CHECK(rep.results == results);

    // CSV for listed users, one of them unknown (cold start: the model's fallback)
    o.format = recsys::batch_format::csv;
    o.ids = {m->user_ids().id(7), "nobody", m->user_ids().id(2), m->user_ids().id(7)};
    o.exclude_seen = false;
    const auto rep2 = recsys::batch_recommend(*m, dir / "out.csv", o);
    CHECK(rep2.inputs == 4);
    CHECK(rep2.unknown == 1);
    const auto rows = read_csv_rows(dir / "out.csv");
    recsys::recommend_options keep;
    keep.exclude_seen = false;
    const std::vector<recsys::index_t> idx = {7, recsys::invalid_index, 2, 7};
    std::size_t at = 0;
    for (std::size_t q = 0; q < idx.size(); ++q) {
      const auto ref = m->recommend(idx[q], 12, keep);
      std::vector<std::string> ids;
      std::vector<float> scores;
      for (std::size_t j = 0; j < ref.size(); ++j, ++at) {
        REQUIRE(at < rows.size());
        CHECK(rows[at].input == o.ids[q]);
        CHECK(rows[at].rank == static_cast<int>(j) + 1);
        ids.push_back(rows[at].result);
        scores.push_back(rows[at].score);
      }
      check_list(ids, scores, ref, m->item_ids(), exact);
    }
    CHECK(at == rows.size());
  }
}

TEST_CASE("user segments rank users by the model's own score", "[batch]") {
  for (const std::string name : {"bpr", "item-knn", "sims"}) {
    INFO("recipe " << name);
    auto m = recsys::make_model(name, name == "bpr" ? recsys::param_map{{"epochs", "3"}, {"factors", "16"}}
                                                    : recsys::param_map{});
    m->fit(data());
    REQUIRE(m->supports_user_segments());
    // brute force: score(user, item) for every user with history, minus users who had the item
    std::vector<std::vector<char>> had(static_cast<std::size_t>(m->num_items()),
                                       std::vector<char>(static_cast<std::size_t>(m->num_users()), 0));
    std::vector<char> active(static_cast<std::size_t>(m->num_users()), 0);
    for (std::size_t r = 0; r < data().size(); ++r) {
      had[static_cast<std::size_t>(data().items[r])][static_cast<std::size_t>(data().users[r])] = 1;
      active[static_cast<std::size_t>(data().users[r])] = 1;
    }
    const std::vector<recsys::index_t> items = {0, 5, 77, 150, 199, 400};
    const recsys::index_t k = 15;
    std::vector<recsys::index_t> users(items.size() * k);
    std::vector<recsys::score_t> scores(users.size());
    m->recommend_users(items, k, users.data(), scores.data());
    for (std::size_t q = 0; q < items.size(); ++q) {
      const recsys::index_t item = items[q];
      std::vector<std::pair<float, recsys::index_t>> ref;
      if (item < m->num_items())
        for (recsys::index_t u = 0; u < m->num_users(); ++u) {
          if (!active[static_cast<std::size_t>(u)] || had[static_cast<std::size_t>(item)][static_cast<std::size_t>(u)])
            continue;
          const recsys::index_t one[] = {item};
          const float s = m->score(u, one)[0];
          if (name != "bpr" && s == 0.0f) continue;  // item-to-item: no neighbour link, no evidence
          ref.emplace_back(s, u);
        }
      std::sort(ref.begin(), ref.end(), [](const auto& a, const auto& b) {
        return recsys::ranks_before(a.first, a.second, b.first, b.second);
      });
      for (recsys::index_t j = 0; j < k; ++j) {
        const std::size_t at = q * static_cast<std::size_t>(k) + static_cast<std::size_t>(j);
        if (static_cast<std::size_t>(j) >= ref.size()) {
          CHECK(users[at] == recsys::invalid_index);
          continue;
        }
        if (name == "bpr") {
          const auto jj = static_cast<std::size_t>(j);
          CHECK(scores[at] == recsys::test::Approx(ref[jj].first).epsilon(1e-5).margin(1e-6));
          const bool near_tie = (jj > 0 && std::abs(ref[jj - 1].first - ref[jj].first) < 1e-4f) ||
                                (jj + 1 < ref.size() && std::abs(ref[jj + 1].first - ref[jj].first) < 1e-4f);
          if (!near_tie) CHECK(users[at] == ref[jj].second);
        } else {
          CHECK(users[at] == ref[static_cast<std::size_t>(j)].second);
          CHECK(scores[at] == ref[static_cast<std::size_t>(j)].first);  // the same sums, bit for bit
        }
      }
    }
  }
  // popularity gives every user the same list: no segments, a clear message
  auto pop = recsys::make_model("popularity");
  pop->fit(data());
  CHECK_FALSE(pop->supports_user_segments());
  try {
    (void)recsys::batch_segments(*pop, fresh_dir("seg-pop") / "s.jsonl");
    FAIL("segments from popularity");
  } catch (const recsys::invalid_argument& e) {
    CHECK(std::string(e.what()).find("same scores") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(fresh_dir("seg-pop") / "s.jsonl"));
}

TEST_CASE("segment files hold every listed item and mark unknown ones", "[batch]") {
  auto m = recsys::make_model("warp", {{"epochs", "3"}, {"factors", "16"}});
  m->fit(data());
  const fs::path dir = fresh_dir("segments");
  recsys::batch_options o;
  o.k = 5;
  o.ids = {m->item_ids().id(3), "no-such-item", m->item_ids().id(9)};
  const auto rep = recsys::batch_segments(*m, dir / "seg.jsonl", o);
  CHECK(rep.unknown == 1);
  const auto lines = read_jsonl(dir / "seg.jsonl", "itemId", "recommendedUsers");
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].second.results.size() == 5);
  CHECK(lines[1].first == "no-such-item");
  CHECK(lines[1].second.results.empty());
  CHECK(lines[1].second.has_error);
  std::vector<recsys::index_t> users(5);
  std::vector<recsys::score_t> scores(5);
  const recsys::index_t item[] = {9};
  m->recommend_users(item, 5, users.data(), scores.data());
  for (std::size_t j = 0; j < 5; ++j) CHECK(lines[2].second.results[j] == m->user_ids().id(users[j]));
  // every item, CSV
  o.ids.clear();
  o.format = recsys::batch_format::csv;
  const auto all = recsys::batch_segments(*m, dir / "seg.csv", o);
  CHECK(all.inputs == m->num_items());
  CHECK(read_csv_rows(dir / "seg.csv").size() == static_cast<std::size_t>(all.results));
}

TEST_CASE("batch jobs never leave a half-written output", "[batch]") {
  auto m = recsys::make_model("item-knn");
  m->fit(data());
  const fs::path dir = fresh_dir("atomic");
  spit(dir / "out.jsonl", "previous output\n");
  recsys::batch_options o;
  o.block_size = 16;
  // cancelled after the first blocks: the previous file is untouched, no temporary remains
  recsys::job_control job;
  int reports = 0;
  job.report_interval = 0;
  job.progress = [&](const recsys::progress_event& e) {
    if (e.done > 40) job.cancel.cancel();
    ++reports;
  };
  CHECK_THROWS_AS(recsys::batch_recommend(*m, dir / "out.jsonl", o, job), recsys::cancelled);
  CHECK(reports > 1);
  CHECK(slurp(dir / "out.jsonl") == "previous output\n");
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  CHECK(names == std::set<std::string>{"out.jsonl"});
  // an unwritable target (a directory of that name) is an io_error, again without leftovers
  fs::create_directories(dir / "taken.jsonl" / "x");
  CHECK_THROWS_AS(recsys::batch_recommend(*m, dir / "taken.jsonl", o), recsys::io_error);
  CHECK_THROWS_AS(recsys::batch_recommend(*m, dir / "no" / "such" / "dir.jsonl", o), recsys::io_error);
  names.clear();
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  CHECK(names == std::set<std::string>{"out.jsonl", "taken.jsonl"});
  // bad options
  o.k = 0;
  CHECK_THROWS_AS(recsys::batch_recommend(*m, dir / "k.jsonl", o), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::batch_recommend(*recsys::make_model("bpr"), dir / "unfitted.jsonl"), recsys::invalid_argument);
}

TEST_CASE("batch results do not depend on block size or thread count", "[batch]") {
  auto m = recsys::make_model("bpr", {{"epochs", "3"}, {"factors", "16"}});
  m->fit(data());
  const fs::path dir = fresh_dir("blocks");
  recsys::batch_options o;
  o.block_size = 1000;
  o.num_threads = 1;
  (void)recsys::batch_recommend(*m, dir / "a.jsonl", o);
  o.block_size = 1000;
  o.num_threads = 2;
  (void)recsys::batch_recommend(*m, dir / "b.jsonl", o);
  CHECK(slurp(dir / "a.jsonl") == slurp(dir / "b.jsonl"));
}

TEST_CASE("batch input files: bare ids or Personalize JSON lines", "[batch]") {
  const fs::path dir = fresh_dir("input");
  spit(dir / "users.txt", "alice\r\n\n  \nbob\n");
  CHECK(recsys::read_batch_ids(dir / "users.txt", "userId") == std::vector<std::string>{"alice", "bob"});
  spit(dir / "users.jsonl", "{\"userId\": \"a,b\"}\n{\"userId\": \"c\\\"d\"}\n");
  CHECK(recsys::read_batch_ids(dir / "users.jsonl", "userId") == std::vector<std::string>{"a,b", "c\"d"});
  spit(dir / "bad.jsonl", "{\"userId\": \"a\"}\n{\"itemId\": \"c\"}\n");
  try {
    (void)recsys::read_batch_ids(dir / "bad.jsonl", "userId");
    FAIL("no error");
  } catch (const recsys::io_error& e) {
    CHECK(e.line() == 2);
  }
  // ids that need quoting survive a CSV round trip
  recsys::interaction_log log;
  for (int u = 0; u < 20; ++u)
    for (int i = 0; i < 6; ++i) log.add("user,\"" + std::to_string(u) + "\"", "item " + std::to_string((u + i) % 9), u * 10 + i);
  auto m = recsys::make_model("popularity");
  m->fit(log);
  recsys::batch_options o;
  o.format = recsys::batch_format::csv;
  o.k = 3;
  (void)recsys::batch_recommend(*m, dir / "quoted.csv", o);
  const std::string text = slurp(dir / "quoted.csv");
  CHECK(text.find("\"user,\"\"0\"\"\",1,") != std::string::npos);
}
