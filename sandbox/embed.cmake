# cmake -DIN=file -DOUT=file.c -DNAME=symbol -P embed.cmake: a C array of IN.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n" body "${body}")
file(WRITE "${OUT}.tmp" "/* Generated from ${IN} by embed.cmake. */\n#include <stddef.h>\nconst unsigned char ${NAME}[${len}] = {\n${body}\n};\nconst size_t ${NAME}_len = ${len};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
