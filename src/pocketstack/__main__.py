from pocketstack.cli import main

raise SystemExit(main())
