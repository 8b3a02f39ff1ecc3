from techscaniq.cli import main

raise SystemExit(main())
