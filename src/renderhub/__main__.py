from renderhub.cli.main import main

main()
