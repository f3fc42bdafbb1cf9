// Test helper: a SceneRenderer that must be created (the test fails otherwise).
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "tools/scenegen/scene.h"

namespace skynet::scenegen::testing {

inline std::unique_ptr<SceneRenderer> Make(const SceneOptions& o) {
  auto r = SceneRenderer::Create(o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

}  // namespace skynet::scenegen::testing
