from kubectl_aiconf.cli import main

main()
