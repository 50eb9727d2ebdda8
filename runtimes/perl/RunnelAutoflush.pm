# Loaded before every Perl program (-MRunnelAutoflush): STDOUT is flushed
# after each print, so output streams even when it is a pipe.
package RunnelAutoflush;
use strict;
use warnings;
STDOUT->autoflush(1);
1;
