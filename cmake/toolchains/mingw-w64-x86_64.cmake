# Cross-building for 64-bit Windows on Debian 12 with mingw-w64 (GCC 12, posix threads), and
# running what it builds under Wine. docs/windows-build.md explains the choices.
#
# Libraries come from the prefix that scripts/build-windows-deps fills (static OpenSSL, libcurl,
# GoogleTest/GoogleMock): HEARTH_WINDOWS_DEPS_PREFIX, as a -D cache value or from the environment
# (the `windows` preset points it at build/windows-deps, a link the script keeps current).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_SYSTEM_VERSION 10.0)

set(HEARTH_MINGW_TRIPLE x86_64-w64-mingw32)
# The posix-threads compilers by name, whatever update-alternatives points the plain names at:
# only this variant of GCC 12 has std::thread, std::mutex and std::condition_variable.
set(CMAKE_C_COMPILER ${HEARTH_MINGW_TRIPLE}-gcc-posix)
set(CMAKE_CXX_COMPILER ${HEARTH_MINGW_TRIPLE}-g++-posix)
set(CMAKE_RC_COMPILER ${HEARTH_MINGW_TRIPLE}-windres)
# CMake cannot derive the binutils prefix from a "-posix" compiler name: name them.
set(CMAKE_AR /usr/bin/${HEARTH_MINGW_TRIPLE}-gcc-ar-posix CACHE FILEPATH "mingw ar")
set(CMAKE_RANLIB /usr/bin/${HEARTH_MINGW_TRIPLE}-gcc-ranlib-posix CACHE FILEPATH "mingw ranlib")
set(CMAKE_STRIP /usr/bin/${HEARTH_MINGW_TRIPLE}-strip CACHE FILEPATH "mingw strip")
set(CMAKE_OBJCOPY /usr/bin/${HEARTH_MINGW_TRIPLE}-objcopy CACHE FILEPATH "mingw objcopy")

if(NOT HEARTH_WINDOWS_DEPS_PREFIX AND DEFINED ENV{HEARTH_WINDOWS_DEPS_PREFIX})
  set(HEARTH_WINDOWS_DEPS_PREFIX "$ENV{HEARTH_WINDOWS_DEPS_PREFIX}")
endif()
# try_compile() projects read this file again without the cache: pass the prefix on.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES HEARTH_WINDOWS_DEPS_PREFIX)

# Headers, libraries and package files only from the mingw sysroot and our prefix, never from
# the Linux host; programs (perl, wixl, ...) only from the host.
set(CMAKE_FIND_ROOT_PATH /usr/${HEARTH_MINGW_TRIPLE})
if(HEARTH_WINDOWS_DEPS_PREFIX)
  # Used as given, not resolved: build/windows-deps is a link that scripts/build-windows-deps
  # moves to each new prefix, so paths cached through it stay valid when the prefix changes.
  list(PREPEND CMAKE_FIND_ROOT_PATH "${HEARTH_WINDOWS_DEPS_PREFIX}")
  # FindOpenSSL (module mode) looks here; CURL and GTest come with package files.
  set(OPENSSL_ROOT_DIR "${HEARTH_WINDOWS_DEPS_PREFIX}")
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# One self-contained .exe: libstdc++, libgcc and winpthread linked in, no DLL to ship beside it
# (and none for Wine to find). OpenSSL is a static library too.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(OPENSSL_USE_STATIC_LIBS TRUE)
# Target Windows 10 and later APIs (GetBestRoute2, ...).
set(CMAKE_C_FLAGS_INIT "-D_WIN32_WINNT=0x0A00 -DWINVER=0x0A00")
set(CMAKE_CXX_FLAGS_INIT "-D_WIN32_WINNT=0x0A00 -DWINVER=0x0A00")

# ctest (add_test with a target) and try_run() run Windows programs through Wine, with a
# private, quiet WINEPREFIX under the build tree (scripts/wine-run).
get_filename_component(_hearth_repo "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
set(CMAKE_CROSSCOMPILING_EMULATOR "${_hearth_repo}/scripts/wine-run")
unset(_hearth_repo)
