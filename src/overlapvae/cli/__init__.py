"""The console scripts, one thin module each: compose the config, call the experiment or results
code, print what was done. Nothing imports this package."""
