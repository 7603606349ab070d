// The targets of the printed figures. Each has a stated noise margin: a
// figure over its target by no more than the margin prints NOISE, one over
// by more prints `FAIL <figure> ...`, and the suite then exits non-zero, so
// a regression shows in the exit status and the bench's VM test fails.
#pragma once

#include <cstdio>

namespace voidbox::bench {

struct Target {
  const char* figure;  // one token, as the FAIL line names it
  const char* unit;
  double limit;   // the figure should be <= limit ...
  double margin;  // ... and must be <= limit * (1 + margin)
};

class TargetReport {
 public:
  // Prints the verdict for one figure; a figure that is not a positive
  // number was not measured, which is a miss too.
  void check(const Target& t, double value) {
    const double allowed = t.limit * (1.0 + t.margin);
    if (!(value > 0)) {
      std::printf("FAIL %s: not measured (target <= %g %s)\n", t.figure, t.limit, t.unit);
      ++failed_;
      return;
    }
    const bool ok = value <= allowed;
    std::printf("%s %s: %.3f %s, target <= %g %s, noise margin %.0f %% (fails above %.3f)\n",
                !ok                ? "FAIL"
                : value <= t.limit ? "OK"
                                   : "NOISE",
                t.figure, value, t.unit, t.limit, t.unit, t.margin * 100, allowed);
    if (!ok) ++failed_;
  }
  // A figure with a target that this run cannot judge, and why.
  static void not_judged(const Target& t, double value, const char* why) {
    std::printf("NOT JUDGED %s: %.3f %s (target <= %g %s): %s\n", t.figure, value, t.unit, t.limit,
                t.unit, why);
  }
  int failed() const { return failed_; }

 private:
  int failed_ = 0;
};

}  // namespace voidbox::bench
