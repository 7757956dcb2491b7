// The translation unit that builds the precompiled libtorch header (cmake/torch_pch.cmake).
