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
