# Runs a Tcl program with stdout line buffered (Tcl buffers it fully on a
# pipe): tclsh run.tcl main.tcl args...
fconfigure stdout -buffering line
set argv0 [lindex $argv 0]
set argv [lrange $argv 1 end]
incr argc -1
info script $argv0
source $argv0
