module techscaniq/bench/peers/wappalyzergo

go 1.24.0

require github.com/projectdiscovery/wappalyzergo v0.2.50

require golang.org/x/net v0.44.0 // indirect
