from neta.cli import main

raise SystemExit(main())
