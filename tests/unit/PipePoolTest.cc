#include "ringlb/io/PipePool.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

using ringlb::io::Pipe;
using ringlb::io::PipePool;

// A released empty pipe is handed out again instead of creating a new one.
TEST(PipePoolTest, ReusesEmptyPipes) {
  PipePool pool(256 * 1024, 4);
  Pipe a = pool.acquire();
  ASSERT_TRUE(a.valid());
  pool.release(a, true);
  Pipe b = pool.acquire();
  EXPECT_EQ(b.read, a.read);
  EXPECT_EQ(b.write, a.write);
  EXPECT_EQ(pool.created(), 1u);
  pool.release(b, true);
}

// A pipe that may still hold bytes is closed, never pooled: its bytes would leak into the
// next connection that gets it.
TEST(PipePoolTest, ClosesPipesThatMayHoldData) {
  PipePool pool(256 * 1024, 4);
  Pipe a = pool.acquire();
  ASSERT_TRUE(a.valid());
  pool.release(a, false);
  EXPECT_EQ(pool.idle(), 0u);
  EXPECT_EQ(fcntl(a.read, F_GETFD), -1) << "the read end should be closed";
  Pipe b = pool.acquire();
  EXPECT_EQ(pool.created(), 2u);
  pool.release(b, true);
}

// The pool keeps at most maxIdle pipes; the rest are closed on release.
TEST(PipePoolTest, BoundsIdlePipes) {
  PipePool pool(64 * 1024, 2);
  Pipe p[3] = {pool.acquire(), pool.acquire(), pool.acquire()};
  for (Pipe& pipe : p) pool.release(pipe, true);
  EXPECT_EQ(pool.idle(), 2u);
}

// The requested capacity is applied when the kernel allows it (pipe-max-size is 1 MiB by
// default), and reported so splice lengths match the pipe.
TEST(PipePoolTest, AppliesRequestedCapacity) {
  PipePool pool(256 * 1024, 1);
  Pipe a = pool.acquire();
  ASSERT_TRUE(a.valid());
  EXPECT_EQ(static_cast<unsigned>(fcntl(a.write, F_GETPIPE_SZ)), a.capacity);
  EXPECT_EQ(a.capacity, 256u * 1024u);
  pool.release(a, true);
}

// Lowering the limit closes the idle pipes beyond it at once, and trim() closes them all: idle
// pipes must not keep descriptors that sessions need.
TEST(PipePoolTest, ShrinksAtOnceWhenTheLimitDropsOrOnTrim) {
  PipePool pool(64 * 1024, 4);
  Pipe p[4] = {pool.acquire(), pool.acquire(), pool.acquire(), pool.acquire()};
  for (Pipe& pipe : p) pool.release(pipe, true);
  ASSERT_EQ(pool.idle(), 4u);
  pool.setMaxIdle(1);
  EXPECT_EQ(pool.idle(), 1u);
  int closed = 0;
  for (const Pipe& pipe : p) closed += fcntl(pipe.read, F_GETFD) == -1 ? 1 : 0;
  EXPECT_EQ(closed, 3);
  pool.trim();
  EXPECT_EQ(pool.idle(), 0u);
  pool.release(pool.acquire(), true);
  EXPECT_EQ(pool.idle(), 1u) << "the limit still allows one idle pipe after a trim";
}

// The shared counter follows the pool's idle pipes through acquire, release, trim and
// destruction, so the descriptor budget of all workers sees them.
TEST(PipePoolTest, CountsIdlePipesInTheSharedCounter) {
  std::atomic<uint64_t> shared{5};  // other workers' pools
  {
    PipePool pool(64 * 1024, 4);
    pool.countIn(&shared);
    Pipe a = pool.acquire();
    Pipe b = pool.acquire();
    pool.release(a, true);
    pool.release(b, true);
    EXPECT_EQ(shared.load(), 7u);
    pool.release(pool.acquire(), false);  // possibly not empty: closed, not pooled
    EXPECT_EQ(shared.load(), 6u);
    pool.trim();
    EXPECT_EQ(shared.load(), 5u);
    pool.release(pool.acquire(), true);
    EXPECT_EQ(shared.load(), 6u);
  }
  EXPECT_EQ(shared.load(), 5u) << "a destroyed pool must take its pipes out of the count";
}
