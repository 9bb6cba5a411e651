from gwstream.entry import main

main()
