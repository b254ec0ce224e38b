#include <gtest/gtest.h>

#include "ringlb/proxy/Session.h"

using ringlb::proxy::SessionState;
using ringlb::proxy::transitionAllowed;

// The only edges are Free->Connecting->Relaying->Closing->Free and Connecting->Closing.
TEST(SessionStateTest, AllowsExactlyTheLifecycleEdges) {
  const SessionState all[] = {SessionState::Free, SessionState::Connecting, SessionState::Relaying,
                              SessionState::Closing};
  int allowedCount = 0;
  for (SessionState from : all) {
    for (SessionState to : all) allowedCount += transitionAllowed(from, to) ? 1 : 0;
  }
  EXPECT_EQ(allowedCount, 5);
  EXPECT_TRUE(transitionAllowed(SessionState::Free, SessionState::Connecting));
  EXPECT_TRUE(transitionAllowed(SessionState::Connecting, SessionState::Relaying));
  EXPECT_TRUE(transitionAllowed(SessionState::Connecting, SessionState::Closing));
  EXPECT_TRUE(transitionAllowed(SessionState::Relaying, SessionState::Closing));
  EXPECT_TRUE(transitionAllowed(SessionState::Closing, SessionState::Free));
}

// A session can never skip Closing: freeing with operations possibly in flight is the bug this
// state machine exists to prevent.
TEST(SessionStateTest, NeverFreesWithoutClosing) {
  EXPECT_FALSE(transitionAllowed(SessionState::Relaying, SessionState::Free));
  EXPECT_FALSE(transitionAllowed(SessionState::Connecting, SessionState::Free));
  EXPECT_FALSE(transitionAllowed(SessionState::Closing, SessionState::Relaying));
}
