from sagepipe.cli.main import main

raise SystemExit(main())
