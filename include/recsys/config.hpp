// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_CONFIG_HPP
#define RECSYS_CONFIG_HPP

/// @file
/// How recsys is consumed: header-only (the default) or as a compiled library.
///
/// Every component is one public header that declares it and, beside it, a `*-inl.hpp` file that
/// defines it (as fmt's format.h / format-inl.h and spdlog's *-inl.h):
///
/// - **Header-only** (default; CMake target `recsys::recsys`): each public header includes its
///   `-inl.hpp` at the end, so a plain include path is all a program needs. The definitions are
///   templates (see below), so a translation unit only compiles what it calls.
/// - **Compiled** (`RECSYS_COMPILED_LIB` defined for the whole program; CMake target
///   `recsys::compiled`, which defines it): the headers hold declarations only, plus `extern
///   template` declarations of what the library instantiates (src/*.cpp: the models for the
///   types users use, `als<float>` and `als<double>`, the readers, filters, the recipe registry,
///   AutoML, ...). A translation unit then parses declarations and compiles nothing of recsys.
///
/// The two modes share every definition: a unit compiled header-only and linked with the
/// compiled library uses the same code (the explicit instantiations and the implicit ones are
/// the same template specialisations, merged by the linker), so mixing them is safe.
///
/// **Why the definitions are templates.** A function defined in a header is compiled in every
/// unit that includes it; if it is an ordinary (non-template) inline function, every template
/// it uses (Eigen's solvers and products, the standard containers it fills) is instantiated
/// there too, used or not: that made including the umbrella cost 13x Eigen. A template is only
/// instantiated where it is used. So each class with real work to do is a class template with
/// one defaulted parameter and an alias for its usual name,
///
///     template <class = void> class basic_popularity_count { ... };
///     using popularity_count = basic_popularity_count<>;
///
/// and each such free function a function template with one defaulted parameter,
///
///     template <class = void>
///     [[nodiscard]] csr_matrix build_matrix(const interaction_log& log, const matrix_options& options = {});
///
/// which callers use exactly as the plain class or function (`recsys::popularity_count pop;`,
/// `recsys::build_matrix(log)`). The parameter is never used; it only defers compilation.
/// Small inline helpers (accessors, `ranks_before`, option structs) stay ordinary functions.

#if defined(RECSYS_COMPILED_LIB)
/// 1 when the headers define everything (header-only), 0 in compiled mode.
#define RECSYS_HEADER_ONLY 0
#else
#define RECSYS_HEADER_ONLY 1
#endif

#endif  // RECSYS_CONFIG_HPP
