-- luarocks --lua-version=5.4 make --tree=DIR builds the nn module (the C
-- engine nn.core and the Lua library, with the manual help() reads) for
-- the stock lua5.4. It needs the system libraries the engine links:
-- scripts/setup.sh installs them (OpenBLAS, libpng, zlib, cJSON, cairo,
-- fontconfig) with CMake and pkg-config.
rockspec_format = "3.0"
package = "nnlua"
version = "scm-1"
source = {
  url = "git+file://."
}
description = {
  summary = "Deep learning in Lua 5.4 over a C tensor engine",
  detailed = [[
Tensors, autograd, layers, losses, optimizers, data loaders, training
loops, metrics and plots, every numeric kernel in C (OpenBLAS for matrix
products). require "nn" from lua5.4; the nnlua program is built with CMake.
]],
}
dependencies = {}
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    NNLUA_ROCK = "ON",
    NNLUA_LUADIR = "$(LUADIR)",
    NNLUA_LIBDIR = "$(LIBDIR)",
  },
}
