//! Builds and tests the Zig binding against libthunder. Needs Zig 0.14.1
//! (`pip install ziglang==0.14.1`; `python3 -m ziglang build test`).
//!
//!   -Dthunder-include=DIR  where thunder.h is (default: the repository's include/)
//!   -Dthunder-lib=DIR      where libthunder.so is (default: the repository's build/lib/)

const std = @import("std");

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});
    const include_dir = dirOption(b, "thunder-include", "directory holding thunder.h", "../../include");
    const lib_dir = dirOption(b, "thunder-lib", "directory holding libthunder.so", "../../build/lib");

    const mod = b.addModule("thunder", .{
        .root_source_file = b.path("src/thunder.zig"),
        .target = target,
        .optimize = optimize,
        .link_libc = true,
    });
    mod.addIncludePath(include_dir);
    mod.addLibraryPath(lib_dir);
    mod.addRPath(lib_dir);
    mod.linkSystemLibrary("thunder", .{});

    const tests = b.addTest(.{ .root_module = mod });
    const run = b.addRunArtifact(tests);
    b.step("test", "Run the binding's tests").dependOn(&run.step);
}

/// A directory option: absolute as given, relative to this build.zig otherwise.
fn dirOption(b: *std.Build, name: []const u8, desc: []const u8, default: []const u8) std.Build.LazyPath {
    const dir = b.option([]const u8, name, desc) orelse default;
    if (std.fs.path.isAbsolute(dir)) return .{ .cwd_relative = dir };
    return b.path(dir);
}
