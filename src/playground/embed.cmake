# The playground page, compiled into runneld.
#
# Included from src/CMakeLists.txt: adds a generated C file holding
# index.html as bytes (plus its SHA-256 for the ETag) to runnel_core.
# Run with -P (by the custom command below) it writes that file.
if(CMAKE_SCRIPT_MODE_FILE)
  file(READ "${IN}" hex HEX)
  file(SHA256 "${IN}" digest)
  string(LENGTH "${hex}" nhex)
  math(EXPR nbytes "${nhex} / 2")
  # 16 bytes to a line
  string(REGEX REPLACE "(................................)" "\\1\n    " bytes "${hex}")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${bytes}")
  file(WRITE "${OUT}.tmp"
    "/* Generated from src/playground/index.html by embed.cmake: do not edit. */\n"
    "#include <stddef.h>\n\n"
    "const unsigned char rn_playground_html[] = {\n    ${bytes}0x00\n};\n"
    "const size_t rn_playground_html_len = ${nbytes};\n"
    "const char rn_playground_etag[] = \"\\\"${digest}\\\"\";\n")
  file(RENAME "${OUT}.tmp" "${OUT}")
  return()
endif()

set(_pg_in ${CMAKE_CURRENT_LIST_DIR}/index.html)
set(_pg_out ${CMAKE_CURRENT_BINARY_DIR}/playground_html.c)
add_custom_command(
  OUTPUT ${_pg_out}
  COMMAND ${CMAKE_COMMAND} -DIN=${_pg_in} -DOUT=${_pg_out} -P ${CMAKE_CURRENT_LIST_DIR}/embed.cmake
  DEPENDS ${_pg_in} ${CMAKE_CURRENT_LIST_DIR}/embed.cmake
  COMMENT "Embedding the playground page"
  VERBATIM)
target_sources(runnel_core PRIVATE ${_pg_out})
