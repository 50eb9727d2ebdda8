{ Loaded before every Pascal program (fpc -Farunnelflush): Output is flushed
  after each WriteLn even when it is a pipe, as it is on a terminal. }
unit runnelflush;

interface

implementation

initialization
  TextRec(Output).FlushFunc := TextRec(Output).InOutFunc;
end.
