# One precompiled header of libtorch (and spdlog), built once and reused by every target that
# compiles against libtorch: parsing <torch/torch.h> is about 6 s of every such file here.
# A target opts in with aim_use_torch_pch(target). The header is force-included, so a file
# that does not include torch compiles as before, only with torch's declarations visible;
# GCC falls back to the plain headers where the precompiled one does not fit, so results
# never depend on it (AIM_PCH=OFF builds without it).
option(AIM_PCH "Precompile libtorch's headers once for every target" ON)

if(AIM_PCH)
  add_library(aim_torch_pch OBJECT ${CMAKE_SOURCE_DIR}/cmake/torch_pch.cpp)
  target_link_libraries(aim_torch_pch PRIVATE ${TORCH_LIBRARIES} spdlog::spdlog)
  target_precompile_headers(aim_torch_pch PRIVATE <torch/torch.h> <spdlog/spdlog.h>
                            <string> <vector> <map> <memory> <functional> <filesystem>)
endif()

# Only the files that include libtorch themselves use it: torch's declarations in scope make
# every other file slower (measured: runner/cli/cmd_config.cpp 5 s alone, 13 s with them, its
# overloaded operators resolved against torch's too). Call after the target's last source.
function(aim_use_torch_pch target)
  if(NOT AIM_PCH)
    return()
  endif()
  target_precompile_headers(${target} REUSE_FROM aim_torch_pch)
  get_target_property(sources ${target} SOURCES)
  get_target_property(dir ${target} SOURCE_DIR)
  foreach(source IN LISTS sources)
    get_filename_component(path ${source} ABSOLUTE BASE_DIR ${dir})
    file(STRINGS ${path} torch_includes REGEX "^#include <(torch|ATen|c10)/")
    if(NOT torch_includes)
      set_source_files_properties(${source} TARGET_DIRECTORY ${target} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
    endif()
  endforeach()
endfunction()
