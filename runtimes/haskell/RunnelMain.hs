-- Linked before every Haskell program (ghc -main-is RunnelMain): stdout
-- is line buffered even when it is a pipe, then the program's own main runs.
module RunnelMain (main) where

import qualified Main
import System.IO (BufferMode (LineBuffering), hSetBuffering, stdout)

main :: IO ()
main = hSetBuffering stdout LineBuffering >> Main.main
