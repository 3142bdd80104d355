from ncf.cli import main

main()
