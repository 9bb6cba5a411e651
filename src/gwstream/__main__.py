from gwstream.cli import main

main()
