// A downstream program, built twice by each packaging test: header-only (linking recsys::recsys)
// and compiled (linking recsys::compiled). The installed-package consumer includes the umbrella
// (every installed header must be there and compile); the others only the headers they use.
// It fits a model, saves and loads it, and checks the answers agree: in compiled mode that code
// comes from the installed / built library.
#ifdef RECSYS_CONSUMER_UMBRELLA
#include <recsys/recsys.hpp>
#else
#include <recsys/data/synthetic.hpp>
#include <recsys/io/model_store.hpp>
#include <recsys/models/popularity.hpp>
#include <recsys/random.hpp>
#include <recsys/ranking/topk.hpp>
#include <recsys/version.hpp>
#endif

#include <cstdio>
#include <filesystem>

int main() {
  recsys::rng r(42);
  recsys::topk_result top;
  top.push_back(3, 0.9f);
  top.push_back(1, 0.5f);
  bool ok = top.is_sorted() && r.uniform_index(10) < 10;

  recsys::synthetic_config cfg;
  cfg.num_users = 50;
  cfg.num_items = 60;
  cfg.num_interactions = 600;
  const recsys::interaction_log log = recsys::generate_interactions(cfg);
  recsys::popularity_count pop;
  pop.fit(log);
  const auto dir = std::filesystem::temp_directory_path() / "recsys-consumer-model";
  {
    recsys::model_writer w(dir, "popularity");
    pop.save(w);
    w.commit();
  }
  recsys::popularity_count loaded;
  loaded.load(recsys::model_reader(dir, "popularity"));
  ok = ok && loaded.recommend(3, 5) == pop.recommend(3, 5) && pop.recommend(3, 5).size() == 5;
  std::filesystem::remove_all(dir);

  std::printf("recsys %s %s %s\n", recsys::version_string, RECSYS_HEADER_ONLY ? "header-only" : "compiled",
              ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
