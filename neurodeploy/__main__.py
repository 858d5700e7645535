from neurodeploy.cli import main

main()
