# Loaded before every Ruby program (-r): $stdout is flushed after each
# write, so output streams even when it is a pipe.
$stdout.sync = true
