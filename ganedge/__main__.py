from ganedge.cli.main import main

main()
